using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Formats;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae itda build|encode|compare</c>: builds an ITDA dictionary from the synthetic activation stream (labels: sequence =
/// token / seq-len, token = token mod seq-len), encodes held-out activations with one, and compares two by the Jaccard
/// similarity of their atom labels. <c>build --compare-topk</c> also trains a TopK SAE with as many latents as the
/// dictionary has atoms, at the same k, on the same stream, and reports both.
/// </summary>
public static class ItdaCommand
{
    /// <summary>The <c>itda</c> command with its subcommands <c>build</c>, <c>encode</c> and <c>compare</c>, writing to <paramref name="output"/>.</summary>
    public static Command Create(TextWriter output) => new("itda", "ITDA dictionaries: build by matching pursuit over real activations, encode, compare.")
    {
        BuildCommand(output), EncodeCommand(output), CompareCommand(output),
    };

    private static Command BuildCommand(TextWriter output)
    {
        var command = new Command("build", "Build an ITDA dictionary (matching pursuit over real activations) from synthetic activations.");
        var tokens = CliOptions.Value("--tokens", 262_144, "N", "activations streamed");
        var batch = CliOptions.Value("--batch", 1024, "B", "activations per update");
        var k = CliOptions.Value("--k", 8, "K", "matching-pursuit steps");
        var seqLen = CliOptions.Value("--seq-len", 128, "L", "tokens per sequence label");
        var threshold = CliOptions.Maybe<double>("--threshold", "T", "add an atom when mean_i (x/|x| - x̂/|x̂|)_i² > T (default 0.3/d)");
        var maxAtoms = CliOptions.Maybe<int>("--max-atoms", "M", "cap on the dictionary size");
        var backend = CliOptions.Backend();
        var compareTopK = CliOptions.Flag("--compare-topk", "also train a TopK SAE with F = atoms, the same k, on the same tokens");
        var outPath = CliOptions.Value("--out", "dict.itda", "PATH", "dictionary file");
        var json = CliOptions.Json("one JSON object with the results");
        foreach (Option o in new Option[] { tokens, batch, k, seqLen, threshold, maxAtoms, backend, compareTopK, outPath, json }) command.Add(o);
        var data = new DataOptions(command);
        command.SetAction(r => Build(output, data.Read(r), r.GetValue(tokens), r.GetValue(batch), r.GetValue(seqLen),
            new ItdaOptions(K: r.GetValue(k), Threshold: r.GetValue(threshold), MaxAtoms: r.GetValue(maxAtoms)),
            r.GetValue(outPath)!, r.GetValue(backend), r.GetValue(compareTopK), r.GetValue(json)));
        return command;
    }

    private static int Build(TextWriter output, SyntheticOptions data, int tokens, int batch, int seqLen, ItdaOptions options, string outPath,
        string? backendName, bool compareTopK, bool json)
    {
        CliOptions.Validate(() =>
        {
            data.Validate();
            options.Validate();
            if (tokens < 1 || batch < 1 || seqLen < 1) throw new ArgumentException($"--tokens, --batch and --seq-len must be ≥ 1 (got {tokens}, {batch}, {seqLen}).");
        });
        using var backend = CliOptions.CreateBackend(backendName);
        var source = new SyntheticActivations(data);
        var clock = Stopwatch.StartNew();
        using var dict = ItdaDictionary.Build(source, tokens, batch, seqLen, options, backend);
        long done = (tokens + batch - 1) / batch * (long)batch;
        double seconds = clock.Elapsed.TotalSeconds;
        dict.Save(outPath);
        var (fvu, l0) = Evaluate(dict, source, batch);
        var summary = new Dictionary<string, object>
        {
            ["atoms"] = dict.Size, ["k"] = options.K, ["threshold"] = options.ThresholdFor(data.InputDim), ["tokens"] = done,
            ["build_seconds"] = seconds, ["fvu"] = fvu, ["l0"] = l0, ["dictionary"] = Path.GetFullPath(outPath),
        };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ITDA: {dict.Size} atoms from {done} tokens in {seconds:F1} s (k {options.K}, τ {options.ThresholdFor(data.InputDim):G3}); held-out FVU {fvu:F4}, L0 {l0:F2} → {outPath}"));
        if (compareTopK) CompareWithTopK(backend, data, dict, tokens, batch, output, summary);
        if (json) output.WriteLine(JsonSerializer.Serialize(summary));
        return 0;
    }

    private static void CompareWithTopK(Backend backend, SyntheticOptions data, ItdaDictionary dict, int tokens, int batch,
        TextWriter output, Dictionary<string, object> summary)
    {
        var source = new SyntheticActivations(data);
        using var training = TrainingRun.Start(new SaeConfig(data.InputDim, dict.Size, Math.Min(dict.K, dict.Size)),
            new TrainConfig(BatchSize: batch, Steps: Math.Max(1, tokens / batch), Seed: data.Seed), source, new TrainingRunOptions(), backend);
        var run = RunProgress.Run(training, output, 0);
        var heldOut = RunProgress.Evaluate(training.Sae, source, batch).Metrics;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"TopK SAE, F {dict.Size}, k {training.Sae.Config.K}, same {tokens} tokens: trained in {run.Seconds:F1} s; held-out FVU {heldOut.Fvu:F4}, L0 {heldOut.L0:F2}"));
        summary["topk_fvu"] = heldOut.Fvu;
        summary["topk_l0"] = heldOut.L0;
        summary["topk_train_seconds"] = run.Seconds;
    }

    private static (double Fvu, double L0) Evaluate(ItdaDictionary dict, IActivationSource source, int rows, string? codesPath = null)
    {
        var x = new float[(long)rows * dict.InputDim];
        source.NextBatch(x);
        var codes = dict.Encode(x);
        if (codesPath is not null)
        {
            using var writer = new CodesWriter(codesPath, dict.Size);
            writer.Append(codes);
            writer.Complete();
        }
        return (SaeMetrics.ComputeFvu(x, dict.Decode(codes), dict.InputDim), (double)codes.Count / rows);
    }

    private static Command EncodeCommand(TextWriter output)
    {
        var command = new Command("encode", "Encode held-out synthetic activations with a dictionary: FVU, L0; --out writes the codes (SAECODE1).");
        var dict = CliOptions.Required("--dict", "PATH", "the dictionary file");
        var tokens = CliOptions.Value("--tokens", 4096, "N", "tokens to encode");
        var outPath = CliOptions.Text("--out", "CODES", "codes file to write");
        var backend = CliOptions.Backend();
        foreach (Option o in new Option[] { dict, tokens, outPath, backend }) command.Add(o);
        var data = new DataOptions(command);
        command.SetAction(r => Encode(output, data.Read(r), r.GetValue(dict)!, r.GetValue(tokens), r.GetValue(outPath), r.GetValue(backend)));
        return command;
    }

    private static int Encode(TextWriter output, SyntheticOptions data, string path, int tokens, string? outPath, string? backendName)
    {
        if (tokens < 1) throw new CliException($"--tokens must be ≥ 1, got {tokens}.");
        using var backend = CliOptions.CreateBackend(backendName);
        using var dict = LoadDictionary(backend, path);
        if (dict.InputDim != data.InputDim) throw new CliException($"'{path}' has d = {dict.InputDim}; the data has d = {data.InputDim} (--d).");
        var (fvu, l0) = Evaluate(dict, new SyntheticActivations(data with { StreamSeed = data.Seed + 1 }), tokens, outPath);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{path}: {dict.Size} atoms, k {dict.K}; {tokens} tokens: FVU {fvu:F4}, L0 {l0:F2}{(outPath is null ? "" : " → " + outPath)}"));
        return 0;
    }

    private static Command CompareCommand(TextWriter output)
    {
        var command = new Command("compare", "Jaccard similarity of two dictionaries' atom labels.");
        var a = CliOptions.Required("--a", "PATH", "first dictionary");
        var b = CliOptions.Required("--b", "PATH", "second dictionary");
        command.Add(a);
        command.Add(b);
        command.SetAction(r =>
        {
            using var backend = Backend.Create("reference");
            using var da = LoadDictionary(backend, r.GetValue(a)!);
            using var db = LoadDictionary(backend, r.GetValue(b)!);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Jaccard similarity of atom labels: {ItdaDictionary.Jaccard(da, db):F4} ({da.Size} and {db.Size} atoms)"));
        });
        return command;
    }

    private static ItdaDictionary LoadDictionary(Backend backend, string path) => CliOptions.Checked(() => ItdaDictionary.Load(path, backend));
}
