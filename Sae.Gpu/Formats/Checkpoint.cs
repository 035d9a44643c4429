using SaeGpu.Compute;
using SaeGpu.Model;

namespace SaeGpu.Formats;

/// <summary>
/// SaeGpu's native checkpoint: magic <c>SAEGPU03</c>, then int32 d, F, k, architecture, n (number of Matryoshka widths, 0 for
/// a plain SAE) and the n widths, then float32 little-endian arrays W_enc [F, d], b_enc [F], W_dec [F, d], b_dec [d],
/// thresholds [F]. <see cref="Load"/> also reads the earlier <c>SAEGPU02</c> (no width fields). Written atomically (temporary file in the same folder, then rename),
/// so an interrupted save never destroys an existing checkpoint.
/// </summary>
public static class Checkpoint
{
    private static readonly byte[] Magic = "SAEGPU03"u8.ToArray();
    private static readonly byte[] MagicV2 = "SAEGPU02"u8.ToArray();
    private const int HeaderInts = 4;

    /// <summary>Writes <paramref name="sae"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(Sae sae, string path)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
        var thresholds = sae.Backend.ToHost(sae.Thresholds);
        AtomicFile.Write(path, w =>
        {
            w.Write(Magic);
            w.Write(sae.Config.InputDim);
            w.Write(sae.Config.Latents);
            w.Write(sae.Config.K);
            w.Write((int)sae.Config.Architecture);
            var widths = sae.Config.MatryoshkaWidths ?? [];
            w.Write(widths.Count);
            foreach (int m in widths) w.Write(m);
            foreach (var a in new[] { wEnc, bEnc, wDec, bDec, thresholds }) foreach (float v in a) w.Write(v);
        });
    }

    /// <summary>Reads a checkpoint onto <paramref name="backend"/>; throws <see cref="InvalidDataException"/> naming the file and problem.</summary>
    public static Sae Load(Backend backend, string path)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        using var r = new BinaryReader(File.OpenRead(path));
        var magic = r.BaseStream.Length < Magic.Length + 4 * HeaderInts ? [] : r.ReadBytes(Magic.Length);
        bool v3 = magic.AsSpan().SequenceEqual(Magic);
        if (!v3 && !magic.AsSpan().SequenceEqual(MagicV2))
            throw new InvalidDataException($"'{path}' is not a SaeGpu checkpoint (missing magic SAEGPU03 or SAEGPU02).");
        var config = ReadConfig(r, v3, path);
        int nWidths = config.MatryoshkaWidths?.Count ?? 0;
        long fd = (long)config.Latents * config.InputDim;
        long expected = Magic.Length + 4 * HeaderInts + (v3 ? 4 * (1 + nWidths) : 0) + 4 * (2 * fd + 2L * config.Latents + config.InputDim);
        if (r.BaseStream.Length != expected)
            throw new InvalidDataException($"'{path}' has {r.BaseStream.Length} bytes; header (d={config.InputDim}, F={config.Latents}, k={config.K}, {config.Architecture}) needs {expected}.");
        float[] Read(long n) { var a = new float[n]; for (long i = 0; i < n; i++) a[i] = r.ReadSingle(); return a; }
        return Sae.FromWeights(backend, config, Read(fd), Read(config.Latents), Read(fd), Read(config.InputDim), Read(config.Latents));
    }

    private static SaeConfig ReadConfig(BinaryReader r, bool v3, string path)
    {
        var config = new SaeConfig(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), (Architecture)r.ReadInt32());
        try
        {
            if (v3)
            {
                int n = r.ReadInt32();
                if (n < 0 || 4L * n > r.BaseStream.Length - r.BaseStream.Position)
                    throw new ArgumentException($"width count {n} does not fit the file.");
                if (n > 0) config = config with { MatryoshkaWidths = [.. Enumerable.Range(0, n).Select(_ => r.ReadInt32())] };
            }
            return config.Validate();
        }
        catch (ArgumentException e) { throw new InvalidDataException($"'{path}': bad header: {e.Message}"); }
    }
}
