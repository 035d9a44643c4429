using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGpu.Compute;
using SaeGpu.Model;

namespace SaeGpu.Formats;

/// <summary>
/// SAELens's on-disk format: a folder with <c>cfg.json</c> and <c>sae_weights.safetensors</c> holding W_enc [d_in, d_sae]
/// (the transpose of SaeGpu's W_enc [F, d]), W_dec [d_sae, d_in], b_enc [d_sae], b_dec [d_in] and, for "jumprelu",
/// threshold [d_sae]. Architectures map as SAELens runs them at inference: TopK-family selections (topk, gsae, vsae) →
/// "topk" with "k"; thresholded selections (jumprelu, batchtopk, mutual-choice, feature-choice — SAELens also saves
/// BatchTopK as jumprelu with its threshold) → "jumprelu"; relu and gba → "standard". abstopk and topafa have no SAELens
/// equivalent: they are written as "topk" (SAELens would apply ReLU and a fixed k) and restored exactly by SaeGpu from
/// <c>metadata.saegpu_architecture</c>, which also keeps k and Matryoshka widths.
/// </summary>
public static class SaeLensFormat
{
    /// <summary>The config file name.</summary>
    public const string ConfigFile = "cfg.json";

    /// <summary>The weights file name.</summary>
    public const string WeightsFile = "sae_weights.safetensors";

    /// <summary>The SAELens architecture string SaeGpu writes for <paramref name="arch"/>.</summary>
    public static string ArchitectureName(Architecture arch) => arch switch
    {
        Architecture.Relu or Architecture.Gba => "standard",
        Architecture.JumpRelu or Architecture.BatchTopK or Architecture.MutualChoice or Architecture.FeatureChoice => "jumprelu",
        _ => "topk",
    };

    /// <summary>Writes <paramref name="sae"/> into folder <paramref name="dir"/> (both files atomically).</summary>
    public static void Save(Sae sae, string dir)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        var c = sae.Config;
        var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
        string arch = ArchitectureName(c.Architecture);
        var tensors = new List<(string, long[], float[])>
        {
            ("W_enc", [c.InputDim, c.Latents], Transpose(wEnc, c.Latents, c.InputDim)), ("W_dec", [c.Latents, c.InputDim], wDec),
            ("b_enc", [c.Latents], bEnc), ("b_dec", [c.InputDim], bDec),
        };
        if (arch == "jumprelu") tensors.Add(("threshold", [c.Latents], sae.Backend.ToHost(sae.Thresholds)));
        var metadata = new JsonObject { ["saegpu_architecture"] = c.Architecture.Name(), ["saegpu_k"] = c.K };
        if (c.MatryoshkaWidths is { } m) metadata["matryoshka_widths"] = new JsonArray([.. m.Select(v => (JsonNode?)v)]);
        var cfg = new JsonObject
        {
            ["architecture"] = arch, ["d_in"] = c.InputDim, ["d_sae"] = c.Latents, ["dtype"] = "float32", ["device"] = "cpu",
            ["apply_b_dec_to_input"] = true, ["normalize_activations"] = "none", ["reshape_activations"] = "none", ["metadata"] = metadata,
        };
        if (arch == "topk") cfg["k"] = c.K;
        Directory.CreateDirectory(dir);
        SafeTensorsFile.Write(Path.Combine(dir, WeightsFile), tensors);
        AtomicFile.Write(Path.Combine(dir, ConfigFile), w => w.Write(System.Text.Encoding.UTF8.GetBytes(cfg.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))));
    }

    /// <summary>Loads a SAELens folder onto <paramref name="backend"/>; throws <see cref="InvalidDataException"/> naming the file and problem.</summary>
    public static Sae Load(Backend backend, string dir)
    {
        ArgumentNullException.ThrowIfNull(backend);
        string cfgPath = Path.Combine(dir, ConfigFile);
        var cfg = PythonConfig.Read(cfgPath);
        int d = PythonConfig.Int(cfg, "d_in", cfgPath), f = PythonConfig.Int(cfg, "d_sae", cfgPath);
        string arch = PythonConfig.String(cfg, "architecture", cfgPath);
        if (cfg["apply_b_dec_to_input"] is JsonValue v && !v.GetValue<bool>())
            throw new InvalidDataException($"'{cfgPath}': apply_b_dec_to_input = false is not supported (SaeGpu encodes x − b_dec).");
        if ((string?)cfg["normalize_activations"] is { } norm && norm != "none")
            throw new InvalidDataException($"'{cfgPath}': normalize_activations '{norm}' is not supported; fold the scaling into the weights first.");
        var meta = cfg["metadata"] as JsonObject;
        var model = new SaeConfig(d, f, Math.Clamp(PythonConfig.Count(meta?["saegpu_k"]) ?? PythonConfig.Count(cfg["k"]) ?? 1, 1, f), ArchitectureOf(arch, meta, cfgPath),
            (meta?["matryoshka_widths"] as JsonArray)?.Select(n => (int)n!).ToArray());
        string weights = Path.Combine(dir, WeightsFile);
        using var st = SafeTensorsFile.Open(weights);
        float[] Tensor(string name, params long[] shape) => PythonConfig.Tensor(st, name, shape);
        var wEnc = Transpose(Tensor("W_enc", d, f), d, f);
        float[]? threshold = arch == "jumprelu" ? Tensor("threshold", f) : null;
        return PythonConfig.Build(backend, model, wEnc, Tensor("b_enc", f), Tensor("W_dec", f, d), Tensor("b_dec", d), threshold, cfgPath);
    }

    private static Architecture ArchitectureOf(string arch, JsonObject? meta, string path)
    {
        if ((string?)meta?["saegpu_architecture"] is { } ours)
        {
            try { return ArchitectureNames.Parse(ours); }
            catch (ArgumentException e) { throw new InvalidDataException($"'{path}': metadata.saegpu_architecture: {e.Message}"); }
        }
        return arch switch
        {
            "topk" => Architecture.TopK,
            "jumprelu" => Architecture.JumpRelu,
            "standard" => Architecture.Relu,
            _ => throw new InvalidDataException($"'{path}': SAELens architecture '{arch}' is not supported; expected topk, jumprelu or standard."),
        };
    }

    /// <summary>[rows, cols] → [cols, rows].</summary>
    internal static float[] Transpose(float[] a, int rows, int cols)
    {
        var t = new float[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) t[(long)c * rows + r] = a[(long)r * cols + c];
        return t;
    }
}

/// <summary>
/// sparsify's on-disk format (EleutherAI): a folder with <c>cfg.json</c> (k, num_latents or expansion_factor, d_in) and
/// <c>sae.safetensors</c> holding encoder.weight [M, d_in], encoder.bias [M], W_dec [M, d_in] and b_dec [d_in]. Its encoder
/// is TopK of ReLU((x − b_dec)·encoder.weightᵀ + encoder.bias): SaeGpu's TopK, with the same weight orientation. Loading
/// only (sparsify's own transcoder/skip-connection variants are rejected with a clear error).
/// </summary>
public static class SparsifyFormat
{
    /// <summary>Loads a sparsify folder onto <paramref name="backend"/>; throws <see cref="InvalidDataException"/> naming the file and problem.</summary>
    public static Sae Load(Backend backend, string dir)
    {
        ArgumentNullException.ThrowIfNull(backend);
        string cfgPath = Path.Combine(dir, "cfg.json");
        var cfg = PythonConfig.Read(cfgPath);
        string weights = Path.Combine(dir, "sae.safetensors");
        using var st = SafeTensorsFile.Open(weights);
        if (st.Tensors.ContainsKey("W_skip")) throw new InvalidDataException($"'{weights}' has a skip connection (W_skip), which SaeGpu does not support.");
        var enc = st.Get("encoder.weight");
        if (enc.Shape.Count != 2) throw new InvalidDataException($"'{weights}': encoder.weight must be [num_latents, d_in], got [{string.Join(", ", enc.Shape)}].");
        int f = (int)enc.Shape[0], d = (int)enc.Shape[1];
        if (cfg["d_in"] is JsonValue din && (int)din != d) throw new InvalidDataException($"'{cfgPath}': d_in {(int)din} disagrees with encoder.weight [{f}, {d}].");
        int k = PythonConfig.Int(cfg, "k", cfgPath);
        var model = new SaeConfig(d, f, Math.Clamp(k, 1, f), Architecture.TopK);
        float[] Tensor(string name, params long[] shape) => PythonConfig.Tensor(st, name, shape);
        return PythonConfig.Build(backend, model, Tensor("encoder.weight", f, d), Tensor("encoder.bias", f), Tensor("W_dec", f, d), Tensor("b_dec", d), null, cfgPath);
    }
}

/// <summary>Shared reading of Python-side SAE folders: JSON config fields and shape-checked tensors.</summary>
internal static class PythonConfig
{
    public static JsonObject Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Config '{path}' does not exist.", path);
        try { return JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new InvalidDataException($"'{path}' is not a JSON object."); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new InvalidDataException($"'{path}' is not valid JSON ({e.Message})."); }
    }

    public static int Int(JsonObject cfg, string key, string path)
    {
        try { return (int?)cfg[key] ?? throw new InvalidDataException($"'{path}' lacks '{key}'."); }
        catch (Exception e) when (e is InvalidOperationException or FormatException) { throw new InvalidDataException($"'{path}': '{key}' is not an integer."); }
    }

    /// <summary>A count that Python may have written as an int or a float (SAELens allows a float k for BatchTopK): rounded, or null.</summary>
    public static int? Count(JsonNode? node) => node is JsonValue v
        ? v.TryGetValue(out int i) ? i : v.TryGetValue(out double x) && double.IsFinite(x) ? (int)Math.Round(x) : null
        : null;

    public static string String(JsonObject cfg, string key, string path) =>
        (string?)cfg[key] ?? throw new InvalidDataException($"'{path}' lacks '{key}'.");

    public static float[] Tensor(SafeTensorsFile st, string name, params long[] shape)
    {
        var t = st.Get(name);
        if (!t.Shape.SequenceEqual(shape))
            throw new InvalidDataException($"'{st.Path}': tensor '{name}' has shape [{string.Join(", ", t.Shape)}]; expected [{string.Join(", ", shape)}].");
        return st.ReadFloats(name);
    }

    public static Sae Build(Backend backend, SaeConfig model, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[]? thresholds, string path)
    {
        try { return Sae.FromWeights(backend, model.Validate(), wEnc, bEnc, wDec, bDec, thresholds); }
        catch (ArgumentException e) { throw new InvalidDataException($"'{path}': {e.Message}"); }
    }
}
