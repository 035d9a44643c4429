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
    /// <summary>Usage text.</summary>
    public const string Usage = """
        sae itda build [options] Build an ITDA dictionary (matching pursuit over real activations) from synthetic activations.
          --tokens N             activations streamed (default 262144)     --batch B   per update (default 1024)
          --k K                  matching-pursuit steps (default 8)        --seq-len L tokens per sequence label (default 128)
          --threshold T          add an atom when mean_i (x/|x| - x̂/|x̂|)_i² > T (default 0.3/d)
          --max-atoms M          cap on the dictionary size
          --d D --features N --mean-active A --seed S --backend NAME   as for 'train'
          --compare-topk         also train a TopK SAE with F = atoms, the same k, on the same tokens
          --out PATH             dictionary file (default dict.itda)       --json   one JSON object as the last line
        sae itda encode --dict PATH [--tokens N] [--out CODES] [data options]
                                 encode held-out synthetic activations: FVU, L0; --out writes the codes (SAECODE1)
        sae itda compare --a PATH --b PATH                         Jaccard similarity of the two dictionaries' atom labels
        """;

    /// <summary>Runs a subcommand; returns the exit code.</summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output) => args.Count == 0 ? throw new CliException("itda needs a subcommand: build, encode or compare.") : args[0] switch
    {
        "build" => Build(args.Skip(1), output),
        "encode" => Encode(args.Skip(1), output),
        "compare" => Compare(args.Skip(1), output),
        "--help" => Help(output),
        var other => throw new CliException($"Unknown itda subcommand '{other}'; expected build, encode or compare."),
    };

    private static int Help(TextWriter output) { output.WriteLine(Usage); return 0; }

    private static int Build(IEnumerable<string> args, TextWriter output)
    {
        var o = new CliOptions(args, new HashSet<string> { "json", "compare-topk" });
        var data = TrainCommand.ReadData(o);
        int tokens = o.Int("tokens", 262_144), batch = o.Int("batch", 1024), seqLen = o.Int("seq-len", 128);
        var options = new ItdaOptions(K: o.Int("k", 8), Threshold: o.DoubleOrNull("threshold"), MaxAtoms: o.IntOrNull("max-atoms"));
        string outPath = o.String("out", "dict.itda")!;
        bool json = o.Flag("json"), compareTopK = o.Flag("compare-topk");
        string? backendName = o.String("backend");
        o.RejectUnknown("itda build");
        try
        {
            data.Validate();
            options.Validate();
            if (tokens < 1 || batch < 1 || seqLen < 1) throw new ArgumentException($"--tokens, --batch and --seq-len must be ≥ 1 (got {tokens}, {batch}, {seqLen}).");
        }
        catch (ArgumentException e) { throw new CliException(e.Message); }

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

    private static int Encode(IEnumerable<string> args, TextWriter output)
    {
        var o = new CliOptions(args, new HashSet<string>());
        var data = TrainCommand.ReadData(o);
        string path = o.String("dict") ?? throw new CliException("itda encode needs --dict PATH.");
        int tokens = o.Int("tokens", 4096);
        string? backendName = o.String("backend"), outPath = o.String("out");
        o.RejectUnknown("itda encode");
        using var backend = CliOptions.CreateBackend(backendName);
        using var dict = LoadDictionary(backend, path);
        if (dict.InputDim != data.InputDim) throw new CliException($"'{path}' has d = {dict.InputDim}; the data has d = {data.InputDim} (--d).");
        var (fvu, l0) = Evaluate(dict, new SyntheticActivations(data with { StreamSeed = data.Seed + 1 }), tokens, outPath);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{path}: {dict.Size} atoms, k {dict.K}; {tokens} tokens: FVU {fvu:F4}, L0 {l0:F2}{(outPath is null ? "" : " → " + outPath)}"));
        return 0;
    }

    private static int Compare(IEnumerable<string> args, TextWriter output)
    {
        var o = new CliOptions(args, new HashSet<string>());
        string a = o.String("a") ?? throw new CliException("itda compare needs --a PATH."), b = o.String("b") ?? throw new CliException("itda compare needs --b PATH.");
        o.RejectUnknown("itda compare");
        using var backend = Backend.Create("reference");
        using var da = LoadDictionary(backend, a);
        using var db = LoadDictionary(backend, b);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Jaccard similarity of atom labels: {ItdaDictionary.Jaccard(da, db):F4} ({da.Size} and {db.Size} atoms)"));
        return 0;
    }

    private static ItdaDictionary LoadDictionary(Backend backend, string path)
    {
        try { return ItdaDictionary.Load(path, backend); }
        catch (InvalidDataException e) { throw new CliException(e.Message); }
    }
}
