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
/// <c>sae itda build|encode|compare</c>: builds an ITDA dictionary from activation files in file order (<c>--data</c>) or
/// the synthetic activation stream (labels: sequence = row / seq-len, token = row mod seq-len), encodes held-out
/// activations with one, and compares two by the Jaccard similarity of their atom labels (meaningful for dictionaries built
/// from the same rows, e.g. two layers of one extraction). <c>build --compare-topk</c> also trains a TopK SAE with as many latents as the
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
        var command = new Command("build", "Build an ITDA dictionary (matching pursuit over real activations) from activation files (--data) or synthetic activations.");
        var files = DataFile();
        var tensor = CliOptions.Text("--tensor", "NAME", "safetensors tensor to read (default: the only 2-D one)");
        var tokens = CliOptions.Value("--tokens", 262_144, "N", "activations streamed (with --data: at most the files' rows less one batch, which is held out)");
        var batch = CliOptions.Value("--batch", 1024, "B", "activations per update");
        var k = CliOptions.Value("--k", 8, "K", "matching-pursuit steps");
        var seqLen = CliOptions.Value("--seq-len", 128, "L", "tokens per sequence label");
        var threshold = CliOptions.Maybe<double>("--threshold", "T", "add an atom when mean_i (x/|x| - x̂/|x̂|)_i² > T (default 0.3/d)");
        var maxAtoms = CliOptions.Maybe<int>("--max-atoms", "M", "cap on the dictionary size");
        var backend = CliOptions.Backend();
        var compareTopK = CliOptions.Flag("--compare-topk", "also train a TopK SAE with F = atoms, the same k, on the same tokens");
        var outPath = CliOptions.Value("--out", "dict.itda", "PATH", "dictionary file");
        var json = CliOptions.Json("one JSON object with the results");
        foreach (Option o in new Option[] { files, tensor, tokens, batch, k, seqLen, threshold, maxAtoms, backend, compareTopK, outPath, json }) command.Add(o);
        var data = new DataOptions(command);
        command.SetAction(r => Build(output, new Stream(data.Read(r), r.GetValue(files), r.GetValue(tensor)), r.GetValue(tokens), r.GetValue(batch), r.GetValue(seqLen),
            new ItdaOptions(K: r.GetValue(k), Threshold: r.GetValue(threshold), MaxAtoms: r.GetValue(maxAtoms)),
            r.GetValue(outPath)!, r.GetValue(backend), r.GetValue(compareTopK), r.GetValue(json)));
        return command;
    }

    private static Option<string?> DataFile() =>
        CliOptions.Text("--data", "PATH", "activations: .npy or .safetensors file, or a folder of shards, read in file order (default: synthetic data)");

    // Where the activations come from: files read in order (no shuffling, so rows keep their labels), or the synthetic stream.
    private sealed record Stream(SyntheticOptions Synthetic, string? Files, string? Tensor)
    {
        public IActivationSource Open(bool shuffled = false)
        {
            if (Files is null) return new SyntheticActivations(Synthetic);
            var files = CliOptions.Checked(() => new FileActivations(Files, new FileActivationOptions(ShuffleBuffer: shuffled ? 65_536 : 1, TensorName: Tensor, Seed: Synthetic.Seed)));
            try { CliOptions.CheckFinite(files); }
            catch { files.Dispose(); throw; }
            return files;
        }

        public string Describe(IActivationSource source) => source is FileActivations f ? $"{f.TotalRows} rows of {Files}" : "synthetic data";
    }

    private static int Build(TextWriter output, Stream stream, int tokens, int batch, int seqLen, ItdaOptions options, string outPath,
        string? backendName, bool compareTopK, bool json)
    {
        CliOptions.Validate(() =>
        {
            stream.Synthetic.Validate();
            options.Validate();
            if (tokens < 1 || batch < 1 || seqLen < 1) throw new ArgumentException($"--tokens, --batch and --seq-len must be ≥ 1 (got {tokens}, {batch}, {seqLen}).");
        });
        CliOptions.CheckOutput("--out", outPath, stream.Files);
        using var backend = CliOptions.CreateBackend(backendName);
        var source = stream.Open();
        using var _ = source as IDisposable;
        if (source is FileActivations files)
        {
            if (files.TotalRows < 2L * batch) throw new CliException($"'{stream.Files}' holds {files.TotalRows} rows; building and holding out a batch of {batch} needs {2L * batch}.");
            tokens = (int)Math.Min(tokens, (files.TotalRows - batch) / batch * batch);
        }
        var clock = Stopwatch.StartNew();
        using var dict = ItdaDictionary.Build(source, tokens, batch, seqLen, options, backend);
        long done = (tokens + batch - 1) / batch * (long)batch;
        double seconds = clock.Elapsed.TotalSeconds;
        dict.Save(outPath);
        var (fvu, l0) = Evaluate(dict, source, batch);
        var summary = new Dictionary<string, object>
        {
            ["atoms"] = dict.Size, ["k"] = options.K, ["threshold"] = options.ThresholdFor(dict.InputDim), ["tokens"] = done,
            ["build_seconds"] = seconds, ["fvu"] = fvu, ["l0"] = l0, ["dictionary"] = Path.GetFullPath(outPath),
        };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ITDA: {dict.Size} atoms from {done} tokens of {stream.Describe(source)} in {seconds:F1} s (k {options.K}, τ {options.ThresholdFor(dict.InputDim):G3}); held-out FVU {fvu:F4}, L0 {l0:F2} → {outPath}"));
        if (compareTopK) CompareWithTopK(backend, stream, dict, tokens, batch, output, summary);
        if (json) output.WriteLine(JsonSerializer.Serialize(summary));
        return 0;
    }

    // A TopK SAE on the same rows (files: shuffled through a buffer, as sae train reads them), evaluated on the next batch.
    private static void CompareWithTopK(Backend backend, Stream stream, ItdaDictionary dict, int tokens, int batch,
        TextWriter output, Dictionary<string, object> summary)
    {
        var source = stream.Open(shuffled: true);
        using var _ = source as IDisposable;
        using var training = TrainingRun.Start(new SaeConfig(dict.InputDim, dict.Size, Math.Min(dict.K, dict.Size)),
            new TrainConfig(BatchSize: batch, Steps: Math.Max(1, tokens / batch), Seed: stream.Synthetic.Seed), source, new TrainingRunOptions(), backend);
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
        var command = new Command("encode", "Encode activations (--data: the first rows of the files; default: held-out synthetic ones) with a dictionary: FVU, L0; --out writes the codes (SAECODE1).");
        var dict = CliOptions.Required("--dict", "PATH", "the dictionary file");
        var files = DataFile();
        var tensor = CliOptions.Text("--tensor", "NAME", "safetensors tensor to read (default: the only 2-D one)");
        var tokens = CliOptions.Value("--tokens", 4096, "N", "tokens to encode (with --data: at most the files' rows)");
        var outPath = CliOptions.Text("--out", "CODES", "codes file to write");
        var backend = CliOptions.Backend();
        foreach (Option o in new Option[] { dict, files, tensor, tokens, outPath, backend }) command.Add(o);
        var data = new DataOptions(command);
        command.SetAction(r => Encode(output, new Stream(data.Read(r), r.GetValue(files), r.GetValue(tensor)), r.GetValue(dict)!, r.GetValue(tokens), r.GetValue(outPath), r.GetValue(backend)));
        return command;
    }

    private static int Encode(TextWriter output, Stream stream, string path, int tokens, string? outPath, string? backendName)
    {
        if (tokens < 1) throw new CliException($"--tokens must be ≥ 1, got {tokens}.");
        if (outPath is not null) CliOptions.CheckOutput("--out", outPath, stream.Files, path);
        using var backend = CliOptions.CreateBackend(backendName);
        using var dict = LoadDictionary(backend, path);
        var source = stream.Files is null ? new SyntheticActivations(stream.Synthetic with { StreamSeed = stream.Synthetic.Seed + 1 }) : stream.Open();
        using var _ = source as IDisposable;
        if (dict.InputDim != source.InputDim)
            throw new CliException($"'{path}' has d = {dict.InputDim}; {stream.Describe(source)} has d = {source.InputDim}{(stream.Files is null ? " (--d; give its own activations with --data)" : "")}.");
        if (source is FileActivations f) tokens = (int)Math.Min(tokens, f.TotalRows);
        var (fvu, l0) = Evaluate(dict, source, tokens, outPath);
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
