using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGpu.Architectures;
using SaeGpu.Compute;

namespace SaeGpu.Formats;

/// <summary>
/// SAELens's on-disk format: a folder with <c>cfg.json</c> and <c>sae_weights.safetensors</c> holding W_enc [d_in, d_sae]
/// (the transpose of SaeGpu's W_enc [F, d]), W_dec [d_sae, d_in], b_enc [d_sae] (gated: b_gate), b_dec [d_in] and the
/// architecture's latent parameters (jumprelu: threshold; gated: r_mag, b_mag). Each SaeGpu architecture names the SAELens
/// architecture it runs as at inference (its <see cref="Architectures.SaeLensLayout"/>): per-token TopK rules → "topk" with
/// "k"; thresholded selections → "jumprelu"; relu and gba → "standard"; gated → "gated". abstopk and topafa have no SAELens
/// equivalent: they are written as "topk" (SAELens would apply ReLU and a fixed k) and restored exactly by SaeGpu from
/// <c>metadata.saegpu_architecture</c>, which also keeps k and Matryoshka widths. Saved cfgs are in the SAELens 6 layout and
/// say so in <c>metadata.sae_lens_version</c>. Loading also reads the layout before SAELens 6 (no version, or one below 6):
/// <c>architecture</c> "standard" (or absent) with <c>activation_fn</c> (or <c>activation_fn_str</c>) "relu", or "topk" with
/// <c>activation_fn_kwargs.k</c>; a <c>finetuning_scaling_factor</c> is folded into W_dec's rows (ours: it scales the codes
/// before decoding). What SaeGpu cannot represent is refused, naming the field: another activation function (e.g.
/// "tanh-relu"), normalize_activations other than "none", apply_b_dec_to_input = false, rescale_acts_by_decoder_norm.
/// </summary>
internal static class SaeLensFormat
{
    /// <summary>The config file name.</summary>
    public const string ConfigFile = "cfg.json";

    /// <summary>The weights file name.</summary>
    public const string WeightsFile = "sae_weights.safetensors";

    /// <summary>The SAELens layout version SaeGpu writes into <c>metadata.sae_lens_version</c>.</summary>
    public const string LayoutVersion = "6.0.0";

    /// <summary>Writes <paramref name="sae"/> into folder <paramref name="dir"/> (both files atomically).</summary>
    public static void Save(SparseAutoencoder sae, string dir)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        var c = sae.Config;
        var layout = c.Strategy.SaeLens;
        var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
        var tensors = new List<(string, long[], float[])>
        {
            ("W_enc", [c.InputDim, c.Latents], Transpose(wEnc, c.Latents, c.InputDim)), ("W_dec", [c.Latents, c.InputDim], wDec),
            (layout.EncoderBias, [c.Latents], bEnc), ("b_dec", [c.InputDim], bDec),
        };
        foreach (var (name, values) in sae.LatentToHost()) tensors.Add((name, [c.Latents], values));
        var metadata = new JsonObject { ["saegpu_architecture"] = c.Architecture, ["saegpu_k"] = c.K, ["sae_lens_version"] = LayoutVersion };
        if (c.MatryoshkaWidths is { } m) metadata["matryoshka_widths"] = new JsonArray([.. m.Select(v => (JsonNode?)v)]);
        var cfg = new JsonObject
        {
            ["architecture"] = layout.Architecture, ["d_in"] = c.InputDim, ["d_sae"] = c.Latents, ["dtype"] = "float32", ["device"] = "cpu",
            ["apply_b_dec_to_input"] = true, ["normalize_activations"] = "none", ["reshape_activations"] = "none", ["metadata"] = metadata,
        };
        if (layout.WritesK) cfg["k"] = c.K;
        Directory.CreateDirectory(dir);
        SafeTensorsFile.Write(Path.Combine(dir, WeightsFile), tensors);
        AtomicFile.Write(Path.Combine(dir, ConfigFile), w => w.Write(System.Text.Encoding.UTF8.GetBytes(cfg.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))));
    }

    /// <summary>Loads a SAELens folder onto <paramref name="backend"/>; throws <see cref="SaeFormatException"/> naming the file and problem.</summary>
    public static SparseAutoencoder Load(Backend backend, string dir)
    {
        ArgumentNullException.ThrowIfNull(backend);
        string cfgPath = Path.Combine(dir, ConfigFile);
        var cfg = PythonConfig.Read(cfgPath);
        int d = PythonConfig.Int(cfg, "d_in", cfgPath), f = PythonConfig.Int(cfg, "d_sae", cfgPath);
        CheckForwardPass(cfg, cfgPath);
        var meta = StrictJson.Object(cfg, "metadata", cfgPath);
        var (arch, name, k) = ArchitectureOf(cfg, meta, cfgPath);
        var widths = StrictJson.Array(meta, "matryoshka_widths", cfgPath)?.Select(n => PythonConfig.Count(n, "metadata.matryoshka_widths", cfgPath)
            ?? throw new SaeFormatException(cfgPath, "must hold integers.", field: "metadata.matryoshka_widths")).ToArray();
        var model = PythonConfig.Validated(new SaeConfig(d, f, k, name, widths), cfgPath);
        string weights = Path.Combine(dir, WeightsFile);
        using var st = SafeTensorsFile.Open(weights);
        float[] Tensor(string name, params long[] shape) => PythonConfig.Tensor(st, name, shape);
        var wEnc = Transpose(Tensor("W_enc", d, f), d, f);
        var wDec = Tensor("W_dec", f, d);
        if (ScalingFactor(cfg, st, f, cfgPath) is { } scale)
            for (int j = 0; j < f; j++) for (int i = 0; i < d; i++) wDec[(long)j * d + i] *= scale[j];
        var latent = arch.LatentParameters.ToDictionary(n => n, n => Tensor(n, f));
        return PythonConfig.Build(backend, model, wEnc, Tensor(arch.SaeLens.EncoderBias, f), wDec, Tensor("b_dec", d), latent, cfgPath);
    }

    // Settings of SAELens's forward pass that SaeGpu's encode (x − b_dec, no input normalization) cannot reproduce.
    private static void CheckForwardPass(JsonObject cfg, string path)
    {
        if (StrictJson.Bool(cfg, "apply_b_dec_to_input", path) == false)
            throw new SaeFormatException(path, "apply_b_dec_to_input = false is not supported (SaeGpu encodes x − b_dec).", field: "apply_b_dec_to_input");
        if (cfg["normalize_activations"] is { } n && !(n is JsonValue v && (v.TryGetValue(out string? mode) ? mode == "none" : v.TryGetValue(out bool on) && !on)))
            throw new SaeFormatException(path, $"{n.ToJsonString()} is not supported; fold the scaling into the weights first.", field: "normalize_activations");
        if (StrictJson.Bool(cfg, "rescale_acts_by_decoder_norm", path) == true)
            throw new SaeFormatException(path, "true is not supported (SaeGpu's TopK selects on the raw pre-activations).", field: "rescale_acts_by_decoder_norm");
    }

    // The architecture, the name it was saved under (an alias stays an alias) and k: SaeGpu's own metadata when present,
    // else SAELens 6's architecture names, else the layout before 6.
    private static (Architectures.Architecture Arch, string Name, int K) ArchitectureOf(JsonObject cfg, JsonObject? meta, string path)
    {
        int? k = PythonConfig.Count(meta?["saegpu_k"], "metadata.saegpu_k", path) ?? PythonConfig.Count(cfg["k"], "k", path);
        if (StrictJson.String(meta, "saegpu_architecture", path) is { } ours)
            return (ArchitectureRegistry.Find(ours) ?? throw new SaeFormatException(
                path, $"'{ours}' is not one of: {string.Join(", ", ArchitectureRegistry.Names)}.", field: "metadata.saegpu_architecture"), ours.Trim().ToLowerInvariant(), k ?? 1);
        string arch = StrictJson.String(cfg, "architecture", path) ?? "standard";
        if (IsBeforeVersion6(cfg, meta, path))
        {
            string fn = StrictJson.String(cfg, "activation_fn", path) ?? StrictJson.String(cfg, "activation_fn_str", path) ?? "relu";
            if (fn == "topk" && arch is "standard" or "topk")
            {
                arch = "topk";
                k = PythonConfig.Count(StrictJson.Object(cfg, "activation_fn_kwargs", path)?["k"], "activation_fn_kwargs.k", path) ?? k
                    ?? throw new SaeFormatException(path, "activation_fn 'topk' needs activation_fn_kwargs.k.", field: "activation_fn_kwargs");
            }
            else if (fn != "relu")
                throw new SaeFormatException(path, $"'{fn}' with architecture '{arch}' cannot be represented in SaeGpu (supported: relu, or topk with activation_fn_kwargs.k).", field: "activation_fn");
        }
        var found = ArchitectureRegistry.FromSaeLens(arch) ?? throw new SaeFormatException(
            path, $"SAELens architecture '{arch}' is not supported; expected one of: {string.Join(", ", ArchitectureRegistry.All.Where(a => a.SaeLens.LoadsAs).Select(a => a.SaeLens.Architecture))}.", field: "architecture");
        if (found.SaeLens.WritesK && k is null) throw new SaeFormatException(path, $"a '{arch}' SAE needs 'k'.", field: "k");
        return (found, found.Name, k ?? 1);
    }

    // SAELens ≥ 6 writes metadata.sae_lens_version (older files have none, or only sae_lens_training_version).
    private static bool IsBeforeVersion6(JsonObject cfg, JsonObject? meta, string path)
    {
        string? version = StrictJson.String(cfg, "sae_lens_version", path) ?? StrictJson.String(meta, "sae_lens_version", path);
        return version is null || !int.TryParse(version.Split('.')[0], out int major) || major < 6;
    }

    // The pre-6 finetuning_scaling_factor [d_sae] (codes are multiplied by it before decoding), when the cfg turns it on.
    private static float[]? ScalingFactor(JsonObject cfg, SafeTensorsFile st, int f, string path)
    {
        if (StrictJson.Bool(cfg, "finetuning_scaling_factor", path) != true) return null;
        string name = st.Tensors.ContainsKey("finetuning_scaling_factor") ? "finetuning_scaling_factor" : "scaling_factor";
        if (!st.Tensors.ContainsKey(name)) throw new SaeFormatException(path, $"true, but '{st.Path}' has no scaling factor tensor.", field: "finetuning_scaling_factor");
        return PythonConfig.Tensor(st, name, f);
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
internal static class SparsifyFormat
{
    /// <summary>Loads a sparsify folder onto <paramref name="backend"/>; throws <see cref="SaeFormatException"/> naming the file and problem.</summary>
    public static SparseAutoencoder Load(Backend backend, string dir)
    {
        ArgumentNullException.ThrowIfNull(backend);
        string cfgPath = Path.Combine(dir, "cfg.json");
        var cfg = PythonConfig.Read(cfgPath);
        string weights = Path.Combine(dir, "sae.safetensors");
        using var st = SafeTensorsFile.Open(weights);
        if (st.Tensors.ContainsKey("W_skip")) throw new SaeFormatException(weights, "has a skip connection (W_skip), which SaeGpu does not support.", field: "W_skip");
        var enc = st.Get("encoder.weight");
        if (enc.Shape.Count != 2 || enc.Shape.Any(n => n is < 1 or > int.MaxValue))
            throw new SaeFormatException(weights, $"must be [num_latents, d_in] with sizes in [1, 2^31), got [{string.Join(", ", enc.Shape)}].", field: "encoder.weight");
        int f = (int)enc.Shape[0], d = (int)enc.Shape[1];
        if (StrictJson.Int(cfg, "d_in", cfgPath) is { } din && din != d)
            throw new SaeFormatException(cfgPath, $"{din} disagrees with encoder.weight [{f}, {d}].", field: "d_in");
        int k = PythonConfig.Int(cfg, "k", cfgPath);
        var model = PythonConfig.Validated(new SaeConfig(d, f, k, "topk"), cfgPath);
        float[] Tensor(string name, params long[] shape) => PythonConfig.Tensor(st, name, shape);
        return PythonConfig.Build(backend, model, Tensor("encoder.weight", f, d), Tensor("encoder.bias", f), Tensor("W_dec", f, d), Tensor("b_dec", d), null, cfgPath);
    }
}

/// <summary>Shared reading of Python-side SAE folders: JSON config fields and shape-checked tensors.</summary>
internal static class PythonConfig
{
    private const int MaxConfigBytes = 16 << 20;

    public static JsonObject Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Config '{path}' does not exist.", path);
        long length = new FileInfo(path).Length;
        if (length > MaxConfigBytes) throw new SaeFormatException(path, $"{length} bytes is too large for a config (at most {MaxConfigBytes}).");
        var bytes = File.ReadAllBytes(path);
        return StrictJson.ParseObject(bytes, path, "the config");
    }

    /// <summary>The integer <paramref name="key"/> of <paramref name="cfg"/>, which must be present.</summary>
    public static int Int(JsonObject cfg, string key, string path) =>
        StrictJson.Int(cfg, key, path) ?? throw new SaeFormatException(path, "is missing (an integer is needed).", field: key);

    /// <summary>
    /// A count that Python may have written as an int or a float (SAELens allows a float k for BatchTopK), rounded; null when
    /// absent or JSON null; anything else (a string, a fraction out of int range) is refused naming <paramref name="field"/>.
    /// </summary>
    public static int? Count(JsonNode? node, string field, string path) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out int i) => i,
        JsonValue v when v.TryGetValue(out double x) && Math.Abs(x) < int.MaxValue => (int)Math.Round(x),
        _ => throw new SaeFormatException(path, $"expected a count, got {node.ToJsonString()}.", field: field),
    };

    /// <summary><paramref name="model"/> validated: a config that no SAE can have (d_sae 0, k > d_sae, …) is refused naming <paramref name="path"/>.</summary>
    public static SaeConfig Validated(SaeConfig model, string path)
    {
        try { return model.Validate(); }
        catch (ArgumentException e) { throw new SaeFormatException(path, e.Message, inner: e); }
    }

    public static float[] Tensor(SafeTensorsFile st, string name, params long[] shape)
    {
        var t = st.Get(name);
        if (!t.Shape.SequenceEqual(shape))
            throw new SaeFormatException(st.Path, $"has shape [{string.Join(", ", t.Shape)}]; expected [{string.Join(", ", shape)}].", field: name);
        return st.ReadFloats(name);
    }

    public static SparseAutoencoder Build(Backend backend, SaeConfig model, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
        IReadOnlyDictionary<string, float[]>? latent, string path)
    {
        try { return SparseAutoencoder.FromWeights(backend, model.Validate(), wEnc, bEnc, wDec, bDec, latent); }
        catch (ArgumentException e) { throw new SaeFormatException(path, e.Message, inner: e); }
    }
}
