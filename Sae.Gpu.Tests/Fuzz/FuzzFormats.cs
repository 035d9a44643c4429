using System.Text;
using System.Text.Json.Nodes;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using SaeGpu.Training;

namespace SaeGpu.Tests.Fuzz;

/// <summary>
/// Every file format SaeGpu reads, with seeds written by SaeGpu's own writers (tiny: d 4–6, F 8–12, a few rows) and the
/// reader as the library's users call it. Each format is built on first use.
/// </summary>
public static class FuzzFormats
{
    private const int StateD = 6;
    private const string StateData = "acts.npy";
    private static readonly Backend Cpu = TestBackends.Cpu;

    // The SAEs behind the SAE-file seeds: the main architecture families and a Matryoshka one.
    private static readonly SaeConfig[] Saes =
        [new(4, 8, 2, "topk"), new(5, 10, 3, "jumprelu"), new(4, 8, 2, "relu"), new(6, 12, 3, "gated"), new(4, 12, 2, "batchtopk", [3, 6, 12])];

    // format → (seeds, reader): the one table of the fuzz tier.
    private static readonly (string Name, Lazy<FuzzTarget> Target)[] Table =
    [
        Format("npy", NpySeeds, ReadActivations),
        Format("npy-int32", TokenSeeds, ReadTokens),
        Format("safetensors", SafeTensorsSeeds, ReadActivations),
        Format("saelens-cfg", dir => SaeLensSeeds(dir, SaeLensFormat.ConfigFile), ReadSae),
        Format("saelens-weights", dir => SaeLensSeeds(dir, SaeLensFormat.WeightsFile), ReadSae),
        Format("sparsify", SparsifySeeds, ReadSae),
        Format("saeckpt", CheckpointSeeds, path => Checkpoint.Load(Cpu, path).Dispose()),
        Format("saestate", StateSeeds, ReadState),
        Format("codes", CodesSeeds, path => CodesFile.Load(path)),
        Format("itda", ItdaSeeds, ReadItda),
    ];

    /// <summary>The formats' names, in table order.</summary>
    public static IReadOnlyList<string> Names => [.. Table.Select(t => t.Name)];

    /// <summary>The format called <paramref name="name"/>.</summary>
    public static FuzzTarget Get(string name) => Table.Single(t => t.Name == name).Target.Value;

    private static (string, Lazy<FuzzTarget>) Format(string name, Func<string, IEnumerable<FuzzSeed>> seeds, Action<string> read) =>
        (name, new Lazy<FuzzTarget>(() => new FuzzTarget(name, Written(seeds), read)));

    // Runs the seed writers in a scratch folder and keeps their bytes.
    private static FuzzSeed[] Written(Func<string, IEnumerable<FuzzSeed>> seeds)
    {
        var dir = Directory.CreateTempSubdirectory("saegpu-fuzz-seeds");
        try { return [.. seeds(dir.FullName)]; }
        finally { dir.Delete(recursive: true); }
    }

    // ---- readers ----

    private static void ReadActivations(string path)
    {
        using var acts = new FileActivations(path, new FileActivationOptions(ShuffleBuffer: 64));
        acts.FindNonFinite();
        foreach (var _ in acts.InOrder(batchRows: 7)) { }
        var batch = new float[3 * acts.InputDim];
        for (int i = 0; i < 3; i++) acts.NextBatch(batch);
    }

    private static void ReadTokens(string path)
    {
        using var npy = NpyFile.Open(path);
        if (npy.Type == ElementType.Int32) npy.ReadInt32();
    }

    private static void ReadSae(string path) => SaeFiles.Load(Cpu, Path.GetDirectoryName(path)!).Dispose();

    // Resumes the run whose state this is, on a fresh source built with the run's settings.
    private static void ReadState(string path)
    {
        string folder = Path.GetDirectoryName(path)!;
        var source = StateSource(folder);
        try { TrainingRun.Resume(folder, source, Cpu).Dispose(); }
        finally { (source as IDisposable)?.Dispose(); }
    }

    private static void ReadItda(string path)
    {
        using var dictionary = ItdaDictionary.Load(path, Cpu);
        dictionary.Encode(Enumerable.Repeat(1f, dictionary.InputDim).ToArray());
    }

    // ---- seeds ----

    private static IEnumerable<FuzzSeed> NpySeeds(string dir)
    {
        yield return new("f32-5x4", "acts.npy", Npy(dir, 5, 4));
        yield return new("f32-3x6", "acts.npy", Npy(dir, 3, 6));
        yield return new("f32-1x5", "acts.npy", Npy(dir, 1, 5));
        yield return new("f16-4x5", "acts.npy", NpyFloat16(Npy(dir, 4, 5)));
    }

    private static IEnumerable<FuzzSeed> TokenSeeds(string dir)
    {
        foreach (var (rows, columns) in new[] { (7, 1), (3, 4) })
        {
            string path = Path.Combine(dir, $"{rows}x{columns}.tokens.npy");
            using (var w = NpyWriter.ForInt32(path, columns))
            {
                w.Append(Enumerable.Range(0, rows * columns).Select(i => i * 37 % 1000).ToArray().AsSpan());
                w.Complete();
            }
            yield return new($"i32-{rows}x{columns}", "acts.tokens.npy", File.ReadAllBytes(path));
        }
    }

    private static IEnumerable<FuzzSeed> SafeTensorsSeeds(string dir)
    {
        FuzzSeed Seed(string name, byte[] bytes) => new(name, "acts.safetensors", bytes, SeedKind.SafeTensors, Fixup: Fixups.SafeTensorsChecksum);
        var rows5 = SafeTensors(dir, ("acts", [5, 4], Values(20, 1)));
        yield return Seed("5x4", rows5);
        yield return Seed("5x4-nosum", Fixups.WithoutSafeTensorsChecksum(rows5));
        yield return Seed("3x6", SafeTensors(dir, ("acts", [3, 6], Values(18, 2))));
        yield return Seed("4x5-and-1d", SafeTensors(dir, ("acts", [4, 5], Values(20, 3)), ("scale", [5], Values(5, 4))));
    }

    // SAELens folders of every SAE in Saes; `mutated` is the file under fuzz, the other lies beside it.
    private static IEnumerable<FuzzSeed> SaeLensSeeds(string dir, string mutated)
    {
        foreach (var config in Saes)
        {
            string folder = Path.Combine(dir, config.Name);
            using (var sae = SparseAutoencoder.CreateRandom(Cpu, config, seed: 1)) SaeLensFormat.Save(sae, folder);
            var files = Directory.GetFiles(folder).ToDictionary(f => Path.GetFileName(f), File.ReadAllBytes);
            foreach (var seed in SaeLensVariants(config.Name, files, mutated)) yield return seed;
        }
    }

    // The saved folder with `mutated` under fuzz; for weights also without their checksum, for cfg.json also in the layout before SAELens 6.
    private static IEnumerable<FuzzSeed> SaeLensVariants(string name, Dictionary<string, byte[]> files, string mutated)
    {
        FuzzSeed Seed(string seedName, byte[] bytes, Dictionary<string, byte[]> all) => mutated == SaeLensFormat.ConfigFile
            ? new(seedName, mutated, bytes, SeedKind.Json, Others(all, mutated))
            : new(seedName, mutated, bytes, SeedKind.SafeTensors, Others(all, mutated), Fixups.SafeTensorsChecksum);
        yield return Seed(name, files[mutated], files);
        if (mutated == SaeLensFormat.WeightsFile) yield return Seed(name + "-nosum", Fixups.WithoutSafeTensorsChecksum(files[mutated]), files);
        else if (name == "topk") yield return Seed("topk-pre6", PreVersion6(files[mutated]), files);
    }

    // A SAELens cfg as written before version 6: no SaeGpu metadata, "standard" with activation_fn topk and its k.
    private static byte[] PreVersion6(byte[] cfgJson)
    {
        var cfg = JsonNode.Parse(cfgJson)!.AsObject();
        int k = (int)cfg["k"]!;
        cfg.Remove("metadata");
        cfg["architecture"] = "standard";
        cfg["activation_fn"] = "topk";
        cfg["activation_fn_kwargs"] = new JsonObject { ["k"] = k };
        cfg["finetuning_scaling_factor"] = false;
        return Encoding.UTF8.GetBytes(cfg.ToJsonString());
    }

    private static IEnumerable<FuzzSeed> SparsifySeeds(string dir)
    {
        foreach (var config in new SaeConfig[] { new(4, 8, 2), new(6, 12, 3) })
        {
            using var sae = SparseAutoencoder.CreateRandom(Cpu, config, seed: 2);
            var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
            var (d, f) = (config.InputDim, config.Latents);
            var files = new Dictionary<string, byte[]>
            {
                ["cfg.json"] = Encoding.UTF8.GetBytes($$"""{"k": {{config.K}}, "num_latents": {{f}}, "d_in": {{d}}, "expansion_factor": {{f / d}}}"""),
                ["sae.safetensors"] = SafeTensors(dir, ("encoder.weight", [f, d], wEnc), ("encoder.bias", [f], bEnc), ("W_dec", [f, d], wDec), ("b_dec", [d], bDec)),
            };
            var (name, weights) = ($"d{d}", files["sae.safetensors"]);
            yield return new(name, "cfg.json", files["cfg.json"], SeedKind.Json, Others(files, "cfg.json"));
            yield return new(name, "sae.safetensors", weights, SeedKind.SafeTensors, Others(files, "sae.safetensors"), Fixups.SafeTensorsChecksum);
            yield return new(name + "-nosum", "sae.safetensors", Fixups.WithoutSafeTensorsChecksum(weights), SeedKind.SafeTensors, Others(files, "sae.safetensors"));
        }
    }

    // Version 5 of every SAE in Saes (checksum recomputed for half the mutants), its version 4, and hand-built versions 3 and 2.
    private static IEnumerable<FuzzSeed> CheckpointSeeds(string dir)
    {
        foreach (var config in Saes)
        {
            string path = Path.Combine(dir, config.Name + ".saeckpt");
            using (var sae = SparseAutoencoder.CreateRandom(Cpu, config, seed: 3)) Checkpoint.Save(sae, path);
            var v5 = File.ReadAllBytes(path);
            yield return new($"v5-{config.Name}", "sae.saeckpt", v5, SeedKind.MagicThenJson, Fixup: Fixups.Trailer);
            yield return new($"v4-{config.Name}", "sae.saeckpt", Fixups.CheckpointVersion4(v5), SeedKind.MagicThenJson);
        }
        yield return new("v3-topk", "sae.saeckpt", Legacy(new(4, 8, 2, "topk"), archNumber: 0, v3: true));
        yield return new("v3-matryoshka-topk", "sae.saeckpt", Legacy(new(4, 8, 2, "topk", [2, 4, 8]), archNumber: 0, v3: true));
        yield return new("v3-jumprelu", "sae.saeckpt", Legacy(new(5, 10, 3, "jumprelu"), archNumber: 6, v3: true));
        yield return new("v2-topk", "sae.saeckpt", Legacy(new(4, 8, 2, "topk"), archNumber: 0, v3: false));
    }

    // The layout of versions 3 and 2 (Checkpoint.cs): magic, int32 d, F, k, architecture number (v3: width count and
    // widths), then W_enc, b_enc, W_dec, b_dec and thresholds [F] as float32.
    private static byte[] Legacy(SaeConfig config, int archNumber, bool v3)
    {
        using var sae = SparseAutoencoder.CreateRandom(Cpu, config, seed: 4);
        var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes))
        {
            w.Write(v3 ? "SAEGPU03"u8 : "SAEGPU02"u8);
            foreach (int v in new[] { config.InputDim, config.Latents, config.K, archNumber }) w.Write(v);
            if (v3)
            {
                var widths = config.MatryoshkaWidths ?? [];
                w.Write(widths.Count);
                foreach (int m in widths) w.Write(m);
            }
            foreach (var a in new[] { wEnc, bEnc, wDec, bDec, Values(config.Latents, 5) }) foreach (float v in a) w.Write(v);
        }
        return bytes.ToArray();
    }

    // States of real runs stopped (cancelled) after 3 of 10 steps: on synthetic data (the same settings as StateSource) for
    // three architectures, and on an activation file (a companion: the state then holds FileActivations' read position).
    private static IEnumerable<FuzzSeed> StateSeeds(string dir)
    {
        foreach (var arch in new[] { "topk", "jumprelu", "gated" }) yield return State(dir, arch, data: null);
        yield return State(dir, "topk", Npy(dir, 40, StateD));
    }

    private static FuzzSeed State(string dir, string arch, byte[]? data)
    {
        string output = Directory.CreateDirectory(Path.Combine(dir, arch + (data is null ? "" : "-file"))).FullName;
        if (data is not null) File.WriteAllBytes(Path.Combine(output, StateData), data);
        var source = StateSource(output);
        try
        {
            var train = new TrainConfig(BatchSize: 8, Steps: 10, DeadAfterTokens: 32);
            using var stop = new CancellationTokenSource();
            using (var run = TrainingRun.Start(new SaeConfig(StateD, 12, 2, arch), train, source, new TrainingRunOptions(output, CheckpointEvery: 0), Cpu))
                run.Run(new OnStep(step => { if (step.Step == 3) stop.Cancel(); }), stop.Token);
        }
        finally { (source as IDisposable)?.Dispose(); }
        var companions = data is null ? null : new Dictionary<string, byte[]> { [StateData] = data };
        return new(Path.GetFileName(output), "training_state.saestate", File.ReadAllBytes(TrainingRun.StatePath(output)), SeedKind.MagicThenJson, companions, Fixups.Trailer);
    }

    // The source a run saved in `folder` trains on: the activation file beside its state when there is one, else synthetic data.
    private static IActivationSource StateSource(string folder)
    {
        string data = Path.Combine(folder, StateData);
        return File.Exists(data) ? new FileActivations(data, new FileActivationOptions(ShuffleBuffer: 16))
            : new SyntheticActivations(new SyntheticOptions(InputDim: StateD, Features: 16, MeanActive: 2, Seed: 5));
    }

    private static IEnumerable<FuzzSeed> CodesSeeds(string dir)
    {
        foreach (var (config, rows) in new[] { (new SaeConfig(4, 8, 2, "topk"), 5), (new SaeConfig(4, 8, 2, "relu"), 4), (new SaeConfig(5, 10, 3, "topk"), 1) })
        {
            string path = Path.Combine(dir, $"{config.Name}-{rows}.codes");
            using var sae = SparseAutoencoder.CreateRandom(Cpu, config, seed: 6);
            using var codes = sae.EncodeCodes(Values(rows * config.InputDim, 7));
            CodesFile.Save(codes, config.Latents, path);
            yield return new($"{config.Name}-{rows}", "x.codes", File.ReadAllBytes(path));
        }
    }

    private static IEnumerable<FuzzSeed> ItdaSeeds(string dir)
    {
        foreach (var (d, k) in new[] { (4, 2), (5, 3) })
        {
            var data = new SyntheticActivations(new SyntheticOptions(InputDim: d, Features: 12, MeanActive: 2, Seed: 8));
            var builder = new ItdaBuilder(Cpu, d, new ItdaOptions(K: k, MaxAtoms: 10));
            var x = new float[16 * d];
            for (int batch = 0; batch < 2; batch++)
            {
                data.NextBatch(x);
                builder.Update(x, Enumerable.Range(batch * 16, 16).Select(t => new AtomLabel(t / 8, t % 8)).ToArray());
            }
            string path = Path.Combine(dir, $"d{d}.itda");
            using (var dictionary = builder.Build()) dictionary.Save(path);
            yield return new($"d{d}", "dict.itda", File.ReadAllBytes(path));
        }
    }

    // ---- helpers ----

    private static float[] Values(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => rng.NextSingle() * 2 - 1)];
    }

    private static byte[] Npy(string dir, int rows, int d)
    {
        string path = Path.Combine(dir, $"{rows}x{d}.npy");
        using (var w = new NpyWriter(path, d))
        {
            w.Append(Values(rows * d, rows * 100 + d).AsSpan());
            w.Complete();
        }
        return File.ReadAllBytes(path);
    }

    // NpyWriter writes float32 only: the same file with dtype '<f2' and the values as float16.
    private static byte[] NpyFloat16(byte[] npy)
    {
        int data = 10 + BitConverter.ToUInt16(npy, 8);
        var header = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(npy, 0, data).Replace("'<f4'", "'<f2'"));
        var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(npy.AsSpan(data)).ToArray().Select(v => (Half)v).ToArray();
        return [.. header, .. System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan())];
    }

    private static byte[] SafeTensors(string dir, params (string Name, long[] Shape, float[] Data)[] tensors)
    {
        string path = Path.Combine(dir, $"{Guid.NewGuid():N}.safetensors");
        SafeTensorsFile.Write(path, tensors);
        return File.ReadAllBytes(path);
    }

    private static Dictionary<string, byte[]> Others(Dictionary<string, byte[]> files, string mutated) =>
        files.Where(f => f.Key != mutated).ToDictionary(f => f.Key, f => f.Value);

    private sealed class OnStep(Action<StepResult> onStep) : IProgress<StepResult>
    {
        public void Report(StepResult value) => onStep(value);
    }
}
