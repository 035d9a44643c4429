using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Formats;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae eval</c> and <c>sae encode</c>: run any saved SAE (native, SAELens or sparsify) over activation files in file
/// order. <c>eval</c> reports FVU = Σ‖x − x̂‖² / Σ‖x − x̄‖², MSE = Σ‖x − x̂‖² / (T·d), L0, the dead fraction (latents that
/// never fire on the data) and the firing-frequency histogram; <c>encode</c> writes the sparse codes (SAECODE1).
/// </summary>
public static class EvalCommand
{
    /// <summary>Usage text of both commands.</summary>
    public const string Usage = """
        sae eval --sae PATH --data PATH [--tokens N] [--batch B] [--tensor NAME] [--backend NAME] [--json]
                                 FVU, MSE, L0, dead % and firing histogram of a saved SAE (native, SAELens or sparsify)
                                 on activation files, read in file order (all rows unless --tokens)
        sae encode --sae PATH --data PATH --out CODES [--tokens N] [--batch B] [--tensor NAME] [--backend NAME]
                                 write the sparse codes of the activations (SAECODE1: offsets, indices, values)
        """;

    /// <summary>Runs <c>eval</c> (<paramref name="writeCodes"/> false) or <c>encode</c>; returns the exit code.</summary>
    public static int Run(IEnumerable<string> args, TextWriter output, bool writeCodes)
    {
        string command = writeCodes ? "encode" : "eval";
        var o = new CliOptions(args, new HashSet<string> { "json" });
        string saePath = o.String("sae") ?? throw new CliException($"{command} needs --sae PATH.");
        string dataPath = o.String("data") ?? throw new CliException($"{command} needs --data PATH.");
        string? outPath = o.String("out"), tensor = o.String("tensor"), backendName = o.String("backend");
        long tokens = o.Int("tokens", int.MaxValue);
        int batch = o.Int("batch", 4096);
        bool json = o.Flag("json");
        o.RejectUnknown(command);
        if (writeCodes && outPath is null) throw new CliException("encode needs --out CODES.");
        if (tokens < 1 || batch < 1) throw new CliException($"--tokens and --batch must be ≥ 1 (got {tokens}, {batch}).");
        using var backend = CliOptions.CreateBackend(backendName);
        using var sae = Open(() => SparseAutoencoder.Load(saePath, backend));
        using var data = Open(() => new FileActivations(dataPath, new FileActivationOptions(ShuffleBuffer: 1, TensorName: tensor)));
        if (data.InputDim != sae.Config.InputDim) throw new CliException($"'{dataPath}' has rows of {data.InputDim} values; '{saePath}' expects d = {sae.Config.InputDim}.");
        using var codesOut = writeCodes ? new CodesWriter(outPath!, sae.Config.Latents) : null;
        var result = Evaluate(sae, data, tokens, batch, codesOut);
        codesOut?.Complete();
        Report(output, saePath, dataPath, result, json, outPath);
        return 0;
    }

    private sealed record Result(long Tokens, double Fvu, double Mse, double L0, double DeadFraction, FiringHistogram Firing,
        double Seconds);

    private static T Open<T>(Func<T> open)
    {
        try { return open(); }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or ArgumentException) { throw new CliException(e.Message); }
    }

    // One pass over the files in order: the library's metrics, and each batch's codes appended to `codesOut` when given.
    private static Result Evaluate(SparseAutoencoder sae, FileActivations data, long tokens, int batch, CodesWriter? codesOut)
    {
        var clock = Stopwatch.StartNew();
        var m = sae.Evaluate(data.InOrder(batch, tokens), codesOut is null ? null : codesOut.Append);
        return new Result(m.Tokens, m.Fvu, m.Mse, m.L0, m.DeadFraction, m.Firing, clock.Elapsed.TotalSeconds);
    }

    private static void Report(TextWriter output, string saePath, string dataPath, Result r, bool json, string? outPath)
    {
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{saePath} on {dataPath}: {r.Tokens} tokens in {r.Seconds:F1} s ({r.Tokens / r.Seconds:F0} tokens/s): FVU {r.Fvu:F4}  MSE {r.Mse:E3}  L0 {r.L0:F2}  dead {100 * r.DeadFraction:F1}%{(outPath is null ? "" : "  → " + outPath)}"));
        output.WriteLine($"Firing frequency histogram (latents per decade): {r.Firing}");
        if (!json) return;
        output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["tokens"] = r.Tokens, ["fvu"] = r.Fvu, ["mse"] = r.Mse, ["l0"] = r.L0, ["dead_fraction"] = r.DeadFraction,
            ["seconds"] = r.Seconds, ["firing_histogram"] = FiringHistogram.Labels.Zip(r.Firing.Counts).ToDictionary(p => p.First, p => p.Second),
        }));
    }
}
