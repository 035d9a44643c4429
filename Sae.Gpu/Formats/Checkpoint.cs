using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGpu.Compute;

namespace SaeGpu.Formats;

/// <summary>
/// SaeGpu's native checkpoint, version 5: magic <c>SAEGPU05</c>; the config as a JSON object (a 7-bit-encoded byte length,
/// then UTF-8: <c>architecture</c>, <c>d_in</c>, <c>latents</c>, <c>k</c> and, for a Matryoshka SAE, <c>matryoshka_widths</c>);
/// an int32 tensor count; then each parameter of <see cref="SparseAutoencoder.Parameters"/> in order as its name (length-prefixed UTF-8),
/// an int64 element count and float32 little-endian values; last, the 8-byte <see cref="Checksum"/> of everything before it,
/// verified before anything is parsed. <see cref="Load"/> also reads version 4 (the same without the checksum) and
/// versions 3 and 2 (<c>SAEGPU03</c>: int32 d, F, k, architecture number, Matryoshka width count and widths, then W_enc,
/// b_enc, W_dec, b_dec and thresholds [F]; <c>SAEGPU02</c>: no width fields). Written atomically (temporary file in the same
/// folder, then rename), so an interrupted save never destroys an existing checkpoint. Every malformed file is refused
/// with a <see cref="SaeFormatException"/>; sizes are checked against the file's length before anything is allocated.
/// </summary>
internal static class Checkpoint
{
    private static readonly byte[] Magic = "SAEGPU05"u8.ToArray();
    private static readonly byte[] MagicV4 = "SAEGPU04"u8.ToArray();
    private static readonly byte[] MagicV3 = "SAEGPU03"u8.ToArray();
    private static readonly byte[] MagicV2 = "SAEGPU02"u8.ToArray();

    // The architecture numbers of versions 2 and 3 (the order of the architecture enum those versions were written with).
    private static readonly string[] LegacyArchitectures =
        ["topk", "abstopk", "batchtopk", "mutual-choice", "feature-choice", "relu", "jumprelu", "topafa", "gba", "gsae", "vsae"];

    /// <summary>Writes <paramref name="sae"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(SparseAutoencoder sae, string path)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var tensors = sae.Parameters.Select(p => (p.Name, Values: sae.Backend.ToHost(p.Tensor))).ToArray();
        AtomicFile.Write(path, w =>
        {
            w.Write(Magic);
            w.Write(ConfigJson(sae.Config));
            w.Write(tensors.Length);
            foreach (var (name, values) in tensors)
            {
                w.Write(name);
                w.Write((long)values.Length);
                WriteFloats(w, values);
            }
        }, checksum: true);
    }

    /// <summary>Reads a checkpoint onto <paramref name="backend"/>; throws <see cref="SaeFormatException"/> naming the file and problem.</summary>
    public static SparseAutoencoder Load(Backend backend, string path)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        using var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        return SaeFormatException.Guard(path, () =>
        {
            var magic = new byte[Magic.Length];
            if (r.BaseStream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) == magic.Length)
            {
                if (magic.AsSpan().SequenceEqual(Magic))
                {
                    Checksum.Verify(path, (FileStream)r.BaseStream);
                    return ReadV4(backend, r, path, Checksum.Size);
                }
                if (magic.AsSpan().SequenceEqual(MagicV4)) return ReadV4(backend, r, path, 0);
                if (magic.AsSpan().SequenceEqual(MagicV3) || magic.AsSpan().SequenceEqual(MagicV2))
                    return ReadLegacy(backend, r, path, v3: magic.AsSpan().SequenceEqual(MagicV3));
            }
            throw new SaeFormatException(path, "not a SaeGpu checkpoint (missing magic SAEGPU05, SAEGPU04, SAEGPU03 or SAEGPU02).", 0);
        });
    }

    private static string ConfigJson(SaeConfig c)
    {
        var json = new JsonObject { ["architecture"] = c.Architecture, ["d_in"] = c.InputDim, ["latents"] = c.Latents, ["k"] = c.K };
        if (c.MatryoshkaWidths is { } m) json["matryoshka_widths"] = new JsonArray([.. m.Select(v => (JsonNode?)v)]);
        return json.ToJsonString();
    }

    // Version 4's layout (version 5 adds the checksum trailer of <paramref name="trailer"/> bytes).
    private static SparseAutoencoder ReadV4(Backend backend, BinaryReader r, string path, int trailer)
    {
        var json = StrictJson.ParseObject(r.ReadBoundedString(path, "the config", 1 << 16), path, "the config");
        int Int(string key) => StrictJson.Int(json, key, path) ?? throw new SaeFormatException(path, "the config lacks this integer.", field: key);
        string arch = StrictJson.String(json, "architecture", path) ?? throw new SaeFormatException(path, "the config lacks the architecture.", field: "architecture");
        int[]? widths = StrictJson.Array(json, "matryoshka_widths", path) is { } m
            ? [.. m.Select(n => StrictJson.Int(n, "matryoshka_widths", path) ?? throw new SaeFormatException(path, "widths must be integers.", field: "matryoshka_widths"))]
            : null;
        var config = BadHeader(path, () => new SaeConfig(Int("d_in"), Int("latents"), Int("k"), arch, widths).Validate());
        var expected = ExpectedTensors(config);
        long needed = r.BaseStream.Position + 4 + expected.Sum(t => NameBytes(t.Name) + 8 + 4 * t.Length) + trailer;
        if (r.BaseStream.Length != needed)
            throw new SaeFormatException(path, $"the file has {r.BaseStream.Length} bytes; its header ({Describe(config)}) needs {needed}.");
        int count = r.ReadInt32();
        if (count != expected.Length) throw new SaeFormatException(path, $"holds {count} tensors; a {config.Architecture} SAE has {expected.Length}.", r.BaseStream.Position - 4);
        var values = new Dictionary<string, float[]>();
        foreach (var (name, length) in expected)
        {
            long at = r.BaseStream.Position;
            string saved = r.ReadBoundedString(path, "a tensor name", 256);
            long n = r.ReadInt64();
            if (saved != name || n != length)
                throw new SaeFormatException(path, $"tensor '{saved}' of {n} values where '{name}' of {length} was expected.", at);
            values[name] = ReadFloats(r, n);
        }
        return Build(backend, config, values, path);
    }

    private static SparseAutoencoder ReadLegacy(Backend backend, BinaryReader r, string path, bool v3)
    {
        int headerBytes = Magic.Length + (v3 ? 20 : 16);
        if (r.BaseStream.Length < headerBytes) throw new SaeFormatException(path, $"{r.BaseStream.Length} bytes is too short for a version {(v3 ? 3 : 2)} header ({headerBytes} bytes).");
        int d = r.ReadInt32(), f = r.ReadInt32(), k = r.ReadInt32(), arch = r.ReadInt32();
        int[]? widths = null;
        if (v3)
        {
            int n = r.ReadInt32();
            if (n < 0 || 4L * n > r.BaseStream.Length - r.BaseStream.Position)
                throw new SaeFormatException(path, $"the Matryoshka width count {n} does not fit the file.", Magic.Length + 16);
            if (n > 0) widths = [.. Enumerable.Range(0, n).Select(_ => r.ReadInt32())];
        }
        string name = arch >= 0 && arch < LegacyArchitectures.Length ? LegacyArchitectures[arch] : $"number {arch}";
        var config = BadHeader(path, () => new SaeConfig(d, f, k, name, widths).Validate());
        long fd = (long)f * d;
        long expected = r.BaseStream.Position + 4 * (2 * fd + 2L * f + d);
        if (r.BaseStream.Length != expected)
            throw new SaeFormatException(path, $"the file has {r.BaseStream.Length} bytes; its header ({Describe(config)}) needs {expected}.");
        var values = new Dictionary<string, float[]>
        {
            ["W_enc"] = ReadFloats(r, fd), ["b_enc"] = ReadFloats(r, f), ["W_dec"] = ReadFloats(r, fd), ["b_dec"] = ReadFloats(r, d),
        };
        var thresholds = ReadFloats(r, f);
        if (config.Strategy.LatentParameters.Contains("threshold")) values["threshold"] = thresholds;
        return Build(backend, config, values, path);
    }

    /// <summary>The parameters a checkpoint of <paramref name="config"/> holds, with their lengths, in <see cref="SparseAutoencoder.Parameters"/> order.</summary>
    private static (string Name, long Length)[] ExpectedTensors(SaeConfig config)
    {
        long fd = (long)config.Latents * config.InputDim;
        return [("W_enc", fd), ("b_enc", config.Latents), ("W_dec", fd), ("b_dec", config.InputDim),
                .. config.Strategy.LatentParameters.Select(n => (n, (long)config.Latents))];
    }

    private static SparseAutoencoder Build(Backend backend, SaeConfig config, Dictionary<string, float[]> values, string path)
    {
        var latent = values.Where(v => !SparseAutoencoder.WeightNames.Contains(v.Key)).ToDictionary(v => v.Key, v => v.Value);
        return BadHeader(path, () => SparseAutoencoder.FromWeights(backend, config, values["W_enc"], values["b_enc"], values["W_dec"], values["b_dec"], latent));
    }

    private static T BadHeader<T>(string path, Func<T> build)
    {
        try { return build(); }
        catch (ArgumentException e) { throw new SaeFormatException(path, $"bad header: {e.Message}", inner: e); }
    }

    private static string Describe(SaeConfig c) => $"d={c.InputDim}, F={c.Latents}, k={c.K}, {c.Architecture}";

    private static long NameBytes(string name)
    {
        int n = Encoding.UTF8.GetByteCount(name), prefix = 1;
        for (int v = n >> 7; v > 0; v >>= 7) prefix++;
        return prefix + n;
    }

    private static void WriteFloats(BinaryWriter w, float[] values)
    {
        if (!BitConverter.IsLittleEndian) foreach (float v in values) w.Write(v);
        else w.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static float[] ReadFloats(BinaryReader r, long n)
    {
        var a = new float[n];
        if (!BitConverter.IsLittleEndian) for (long i = 0; i < n; i++) a[i] = r.ReadSingle();
        else r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(a.AsSpan()));
        return a;
    }
}
