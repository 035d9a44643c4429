using SaeGpu.Architectures;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Formats;

/// <summary>SAELens and sparsify folders: round trips of every architecture and hand-written fixtures in the published layouts.</summary>
public class PythonFormatTests : TempDirectory
{
    public static TheoryData<string> Names() => [.. SaeConfig.Architectures];

    private static float[] Rows(int n, int d, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void SaeLens_SaveThenLoad_KeepsConfigWeightsAndInference(string name)
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(6, 10, 3, name), seed: 2);
        TestBackends.Cpu.Upload<float>(Rows(1, 10, 3).Select(v => v * 0.1f).ToArray(), sae.BEnc);
        foreach (var (_, t) in sae.Parameters.Skip(4)) TestBackends.Cpu.Upload<float>(Rows(1, 10, 4).Select(MathF.Abs).ToArray(), t);
        string dir = Path.Combine(Dir, name);
        SaeLensFormat.Save(sae, dir);
        using var loaded = SaeLensFormat.Load(TestBackends.Reference, dir);
        Assert.Equal(sae.Config, loaded.Config);
        Assert.Equal(sae.ToHost().WEnc, loaded.ToHost().WEnc);
        var x = Rows(20, 6, 5);
        using var before = sae.EncodeCodes(x);
        using var after = loaded.EncodeCodes(x);
        Tolerance.AssertSameCodes(before, after);
    }

    // abstopk and topafa have no SAELens equivalent (written as "topk", restored only from SaeGpu's metadata).
    public static TheoryData<string> SaeLensNames() => [.. SaeConfig.Architectures.Except(["abstopk", "topafa"])];

    /// <summary>
    /// Without SaeGpu's metadata, a saved folder is read as SAELens would run it: the architecture its cfg names (the one
    /// loading as that SAELens layout) encodes exactly as the saved SAE.
    /// </summary>
    [Theory]
    [MemberData(nameof(SaeLensNames))]
    public void SaeLens_WithoutSaeGpuMetadata_LoadsAsSaeLensRunsIt(string name)
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(6, 10, 3, name), seed: 2);
        TestBackends.Cpu.Upload<float>(Rows(1, 10, 3).Select(v => v * 0.1f).ToArray(), sae.BEnc);
        foreach (var (_, t) in sae.Parameters.Skip(4)) TestBackends.Cpu.Upload<float>(Rows(1, 10, 4).Select(MathF.Abs).ToArray(), t);
        string dir = Path.Combine(Dir, name), cfgPath = Path.Combine(dir, "cfg.json");
        SaeLensFormat.Save(sae, dir);
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(cfgPath))!.AsObject();
        var metadata = cfg["metadata"]!.AsObject();
        foreach (string key in metadata.Select(kv => kv.Key).Where(k => k.StartsWith("saegpu_", StringComparison.Ordinal)).ToList()) metadata.Remove(key);
        File.WriteAllText(cfgPath, cfg.ToJsonString());
        string layout = (string)cfg["architecture"]!;
        using var loaded = SaeLensFormat.Load(TestBackends.Reference, dir);
        Assert.Equal(ArchitectureRegistry.All.Single(a => a.SaeLens.Architecture == layout && a.SaeLens.LoadsAs).Name, loaded.Config.Architecture);
        var x = Rows(20, 6, 5);
        using var before = sae.EncodeCodes(x);
        using var after = loaded.EncodeCodes(x);
        Tolerance.AssertSameCodes(before, after);
    }

    [Fact]
    public void SaeLens_KeepsMatryoshkaWidths()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2, "batchtopk", [2, 8]), seed: 1);
        SaeLensFormat.Save(sae, Path.Combine(Dir, "m"));
        using var loaded = SaeLensFormat.Load(TestBackends.Cpu, Path.Combine(Dir, "m"));
        Assert.Equal([2, 8], loaded.Config.MatryoshkaWidths!);
    }

    // A SAELens topk folder as SAELens writes it: W_enc is [d_in, d_sae]; no SaeGpu metadata; k written as a float.
    [Fact]
    public void SaeLens_LoadsAHandWrittenTopKFolder_TransposingW_enc()
    {
        string dir = Path.Combine(Dir, "lens");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cfg.json"), """
            {"architecture": "topk", "d_in": 2, "d_sae": 3, "k": 1.0, "dtype": "float32", "device": "cpu",
             "apply_b_dec_to_input": true, "normalize_activations": "none", "metadata": {"hook_name": "blocks.0.hook_resid_post"}}
            """);
        // W_enc [2, 3]: column j is latent j's encoder row: latent 0 = (1, 0), latent 1 = (0, 1), latent 2 = (1, 1).
        SafeTensorsFile.Write(Path.Combine(dir, "sae_weights.safetensors"),
            [("W_enc", [2, 3], [1f, 0, 1, 0, 1, 1]), ("W_dec", [3, 2], [1f, 0, 0, 1, 0.6f, 0.8f]), ("b_enc", [3], [0f, 0, -1.5f]), ("b_dec", [2], [0f, 0])]);
        using var sae = SaeLensFormat.Load(TestBackends.Reference, dir);
        Assert.Equal(new SaeConfig(2, 3, 1, "topk"), sae.Config);
        using var codes = sae.EncodeCodes([2f, 0.5f, 1f, 3f]);
        var (offsets, indices, values) = codes.ToHost();
        // Token (2, 0.5): pre = (2, 0.5, 1) → latent 0 (2). Token (1, 3): pre = (1, 3, 2.5) → latent 1 (3).
        Assert.Equal([0, 1, 2], offsets);
        Assert.Equal([0, 1], indices);
        Assert.Equal([2f, 3f], values);
    }

    // A SAELens gated folder as SAELens writes it (b_gate, r_mag, b_mag), checked against SAELens's encode by hand:
    // π = (x − b_dec)·W_enc + b_gate, mag = (x − b_dec)·(W_enc ⊙ e^{r_mag}) + b_mag, a = 1[π > 0]·ReLU(mag).
    [Fact]
    public void SaeLens_LoadsAHandWrittenGatedFolder_AsSaeLensEncodesIt()
    {
        string dir = Path.Combine(Dir, "gated");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cfg.json"), """
            {"architecture": "gated", "d_in": 2, "d_sae": 3, "dtype": "float32", "device": "cpu",
             "apply_b_dec_to_input": true, "normalize_activations": "none", "metadata": {"sae_lens_version": "6.5.1"}}
            """);
        SafeTensorsFile.Write(Path.Combine(dir, "sae_weights.safetensors"),
            [("W_enc", [2, 3], [1f, 0, 1, 0, 1, 1]), ("b_gate", [3], [0f, 0, -1.5f]), ("r_mag", [3], [0f, MathF.Log(2), 0]),
             ("b_mag", [3], [0.5f, -1, -4]), ("W_dec", [3, 2], [1f, 0, 0, 1, 0.6f, 0.8f]), ("b_dec", [2], [0f, 0])]);
        using var sae = SaeLensFormat.Load(TestBackends.Reference, dir);
        Assert.Equal("gated", sae.Config.Architecture);
        // Token (2, 0.5): π = (2, 0.5, 1) all open, mag = (2.5, 0, −1.5) → latent 0 (2.5).
        // Token (1, 3): π = (1, 3, 2.5), mag = (1.5, 5, 0) → latents 0 (1.5) and 1 (5); latent 2's ReLU(0) is not stored.
        var codes = sae.Encode([2f, 0.5f, 1f, 3f]);
        Assert.Equal([0, 1, 3], codes.Offsets.ToArray());
        Assert.Equal([0, 0, 1], codes.Indices.ToArray());
        Assert.Equal([2.5f, 1.5f, 5f], codes.Values.ToArray(), (a, b) => Math.Abs(a - b) < 1e-5f);
    }

    [Fact]
    public void SaeLens_RejectsNormalizedActivations_NamingTheConfig()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2), seed: 1);
        string dir = Path.Combine(Dir, "n");
        SaeLensFormat.Save(sae, dir);
        string cfg = Path.Combine(dir, "cfg.json");
        File.WriteAllText(cfg, File.ReadAllText(cfg).Replace("\"normalize_activations\": \"none\"", "\"normalize_activations\": \"layer_norm\""));
        var e = Assert.Throws<SaeFormatException>(() => SaeLensFormat.Load(TestBackends.Cpu, dir));
        Assert.Contains(cfg, e.Message);
        Assert.Contains("layer_norm", e.Message);
    }

    [Fact]
    public void SaeLens_RejectsAWronglyShapedTensor()
    {
        string dir = Path.Combine(Dir, "s");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cfg.json"), """{"architecture": "standard", "d_in": 2, "d_sae": 2}""");
        SafeTensorsFile.Write(Path.Combine(dir, "sae_weights.safetensors"),
            [("W_enc", [2, 2], [1f, 0, 0, 1]), ("W_dec", [2, 2], [1f, 0, 0, 1]), ("b_enc", [3], [0f, 0, 0]), ("b_dec", [2], [0f, 0])]);
        Assert.Contains("field 'b_enc': has shape [3]", Assert.Throws<SaeFormatException>(() => SaeLensFormat.Load(TestBackends.Cpu, dir)).Message);
    }

    // A sparsify folder: cfg.json and sae.safetensors with encoder.weight [M, d] (same orientation as SaeGpu's W_enc).
    [Fact]
    public void Sparsify_LoadsAHandWrittenFolder_AsTopK()
    {
        string dir = Path.Combine(Dir, "sparsify");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cfg.json"), """{"expansion_factor": 1, "normalize_decoder": true, "num_latents": 2, "k": 1, "d_in": 2}""");
        SafeTensorsFile.Write(Path.Combine(dir, "sae.safetensors"),
            [("encoder.weight", [2, 2], [1f, 0, 0, 1]), ("encoder.bias", [2], [0f, 0.5f]), ("W_dec", [2, 2], [1f, 0, 0, 1]), ("b_dec", [2], [1f, 1f])]);
        using var sae = SparsifyFormat.Load(TestBackends.Cpu, dir);
        Assert.Equal(new SaeConfig(2, 2, 1, "topk"), sae.Config);
        using var codes = sae.EncodeCodes([3f, 2f]);
        var (_, indices, values) = codes.ToHost();
        // x − b_dec = (2, 1); pre = (2, 1.5) → latent 0 with 2.
        Assert.Equal([0], indices);
        Assert.Equal([2f], values);
        Assert.Equal([3f, 1f], sae.Decode(codes));
    }

    [Fact]
    public void Sparsify_RejectsSkipConnections()
    {
        string dir = Path.Combine(Dir, "skip");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cfg.json"), """{"k": 1}""");
        SafeTensorsFile.Write(Path.Combine(dir, "sae.safetensors"),
            [("encoder.weight", [1, 1], [1f]), ("encoder.bias", [1], [0f]), ("W_dec", [1, 1], [1f]), ("b_dec", [1], [0f]), ("W_skip", [1, 1], [1f])]);
        Assert.Contains("W_skip", Assert.Throws<SaeFormatException>(() => SparsifyFormat.Load(TestBackends.Cpu, dir)).Message);
    }

    // The same three latents as the topk fixture above, in the layout SAELens wrote before version 6: architecture
    // "standard" with activation_fn (or activation_fn_str) "topk" and k in activation_fn_kwargs, no sae_lens_version.
    private string Pre6Folder(string name, string cfg, params (string, long[], float[])[] extra)
    {
        string dir = Path.Combine(Dir, name);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "cfg.json"), cfg);
        SafeTensorsFile.Write(Path.Combine(dir, "sae_weights.safetensors"),
            [("W_enc", [2, 3], [1f, 0, 1, 0, 1, 1]), ("W_dec", [3, 2], [1f, 0, 0, 1, 0.6f, 0.8f]), ("b_enc", [3], [0f, 0, -1.5f]), ("b_dec", [2], [0f, 0]), .. extra]);
        return dir;
    }

    [Theory]
    [InlineData("activation_fn")]
    [InlineData("activation_fn_str")]
    public void SaeLens_LoadsThePre6TopKLayout_AsTopK(string key)
    {
        string dir = Pre6Folder("pre6", $$"""
            {"architecture": "standard", "d_in": 2, "d_sae": 3, "{{key}}": "topk", "activation_fn_kwargs": {"k": 2},
             "apply_b_dec_to_input": true, "normalize_activations": "none", "sae_lens_training_version": "3.13.0"}
            """);
        using var sae = SaeLensFormat.Load(TestBackends.Reference, dir);
        Assert.Equal(new SaeConfig(2, 3, 2, "topk"), sae.Config);
        // Token (1, 3): pre = (1, 3, 2.5) → the two largest, latents 1 and 2 — ReLU would keep all three.
        using var codes = sae.EncodeCodes([1f, 3f]);
        Assert.Equal([1, 2], codes.ToHost().Indices);
    }

    [Fact]
    public void SaeLens_LoadsThePre6StandardLayout_AsRelu_AndVersion6IgnoresActivationFn()
    {
        using (var relu = SaeLensFormat.Load(TestBackends.Reference, Pre6Folder("relu", """{"architecture": "standard", "d_in": 2, "d_sae": 3, "activation_fn_str": "relu"}""")))
            Assert.Equal("relu", relu.Config.Architecture);
        string v6 = Pre6Folder("v6", """{"architecture": "standard", "d_in": 2, "d_sae": 3, "activation_fn": "topk", "metadata": {"sae_lens_version": "6.1.0"}}""");
        using var standard = SaeLensFormat.Load(TestBackends.Reference, v6);
        Assert.Equal("relu", standard.Config.Architecture);
    }

    [Fact]
    public void SaeLens_RefusesAnActivationItCannotRepresent_NamingIt()
    {
        string dir = Pre6Folder("tanh", """{"architecture": "standard", "d_in": 2, "d_sae": 3, "activation_fn_str": "tanh-relu"}""");
        var e = Assert.Throws<SaeFormatException>(() => SaeLensFormat.Load(TestBackends.Cpu, dir));
        Assert.Contains("'tanh-relu'", e.Message);
        Assert.Contains("cfg.json", e.Message);
        string noK = Pre6Folder("nok", """{"architecture": "standard", "d_in": 2, "d_sae": 3, "activation_fn": "topk"}""");
        Assert.Contains("activation_fn_kwargs.k", Assert.Throws<SaeFormatException>(() => SaeLensFormat.Load(TestBackends.Cpu, noK)).Message);
    }

    [Fact]
    public void SaeLens_FoldsThePre6FinetuningScalingFactorIntoTheDecoder()
    {
        string dir = Pre6Folder("scaled", """{"architecture": "standard", "d_in": 2, "d_sae": 3, "activation_fn_str": "relu", "finetuning_scaling_factor": true}""",
            ("scaling_factor", [3], [2f, 1f, 0.5f]));
        using var sae = SaeLensFormat.Load(TestBackends.Reference, dir);
        Assert.Equal([2f, 0, 0, 1, 0.3f, 0.4f], sae.GetParameter("W_dec"));
    }

    [Fact]
    public void SaeLens_Save_WritesTheLayoutVersion()
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(4, 8, 2), TestBackends.Cpu);
        string dir = Path.Combine(Dir, "v");
        sae.Save(dir, SaeFormat.SaeLens);
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "cfg.json")))!;
        Assert.Equal("6.0.0", (string?)cfg["metadata"]!["sae_lens_version"]);
        Assert.Equal("topk", (string?)cfg["architecture"]);
        Assert.Equal(2, (int?)cfg["k"]);
    }
}
