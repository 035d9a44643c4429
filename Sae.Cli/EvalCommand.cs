using System.CommandLine;
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
    /// <summary>The <c>eval</c> command, or <c>encode</c> when <paramref name="writeCodes"/>, writing to <paramref name="output"/>.</summary>
    public static Command Create(TextWriter output, bool writeCodes)
    {
        var command = writeCodes
            ? new Command("encode", "Write the sparse codes of activation files (SAECODE1: offsets, indices, values) under a saved SAE.")
            : new Command("eval", "FVU, MSE, L0, dead % and firing histogram of a saved SAE (native, SAELens or sparsify) on activation files, read in file order.");
        var sae = CliOptions.Required("--sae", "PATH", "the SAE: a .saeckpt file, or a SAELens or sparsify folder");
        var data = CliOptions.Required("--data", "PATH", ".npy or .safetensors file, or a folder of shards");
        var codes = writeCodes ? CliOptions.Required("--out", "CODES", "codes file to write") : null;
        var tokens = CliOptions.Maybe<long>("--tokens", "N", "tokens to read (default: all rows)");
        var batch = CliOptions.Value("--batch", 4096, "B", "tokens per encode call");
        var tensor = CliOptions.Text("--tensor", "NAME", "safetensors tensor to read (default: the only 2-D one)");
        var backend = CliOptions.Backend();
        var json = writeCodes ? null : CliOptions.Json("one JSON object with the metrics");
        // encode keeps one code row per input row (rows map to tokens), so it has no --nonfinite skip.
        var nonFinite = writeCodes ? null : CliOptions.NonFinite();
        foreach (Option? o in new Option?[] { sae, data, codes, tokens, batch, tensor, nonFinite, backend, json }) if (o is not null) command.Add(o);
        command.SetAction(r => Run(output, r.GetValue(sae)!, r.GetValue(data)!, codes is null ? null : r.GetValue(codes), r.GetValue(tokens) ?? long.MaxValue,
            r.GetValue(batch), r.GetValue(tensor), r.GetValue(backend), json is not null && r.GetValue(json), nonFinite is not null && CliOptions.Skips(r.GetValue(nonFinite))));
        return command;
    }

    private static int Run(TextWriter output, string saePath, string dataPath, string? outPath, long tokens, int batch, string? tensor, string? backendName, bool json, bool skip)
    {
        if (tokens < 1 || batch < 1) throw new CliException($"--tokens and --batch must be ≥ 1 (got {tokens}, {batch}).");
        if (outPath is not null) CliOptions.CheckOutput("--out", outPath, dataPath, saePath);
        using var backend = CliOptions.CreateBackend(backendName);
        using var sae = CliOptions.Checked(() => SparseAutoencoder.Load(saePath, backend));
        using var data = CliOptions.Checked(() => new FileActivations(dataPath, new FileActivationOptions(ShuffleBuffer: 1, TensorName: tensor, SkipNonFinite: skip)));
        CliOptions.CheckFinite(data, json ? null : output, skip);
        if (data.InputDim != sae.Config.InputDim) throw new CliException($"'{dataPath}' has rows of {data.InputDim} values; '{saePath}' expects d = {sae.Config.InputDim}.");
        using var codesOut = outPath is null ? null : new CodesWriter(outPath, sae.Config.Latents);
        var result = Evaluate(sae, data, tokens, batch, codesOut);
        codesOut?.Complete();
        Report(output, saePath, dataPath, result, sae.Config.K, json, outPath);
        return 0;
    }

    private sealed record Result(SaeMetrics Metrics, double Seconds);

    // One pass over the files in order: the library's metrics, and each batch's codes appended to `codesOut` when given.
    private static Result Evaluate(SparseAutoencoder sae, FileActivations data, long tokens, int batch, CodesWriter? codesOut)
    {
        var clock = Stopwatch.StartNew();
        var m = sae.Evaluate(data.InOrder(batch, tokens), codesOut is null ? null : codesOut.Append);
        return new Result(m, clock.Elapsed.TotalSeconds);
    }

    private static void Report(TextWriter output, string saePath, string dataPath, Result result, int k, bool json, string? outPath)
    {
        var (r, seconds) = (result.Metrics, result.Seconds);
        int[] quantiles = [.. new[] { 0, 0.1, 0.5, 0.9, 1 }.Select(r.ActiveQuantile)];
        double belowK = (double)r.ActivePerToken!.Take(k).Sum() / r.Tokens;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{saePath} on {dataPath}: {r.Tokens} tokens in {seconds:F1} s ({r.Tokens / seconds:F0} tokens/s): FVU {r.Fvu:F4}  MSE {r.Mse:E3}  L0 {r.L0:F2}  dead {100 * r.DeadFraction:F1}%{(outPath is null ? "" : "  → " + outPath)}"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Active latents per token: min {quantiles[0]}, p10 {quantiles[1]}, median {quantiles[2]}, p90 {quantiles[3]}, max {quantiles[4]}; {100 * belowK:F1}% of tokens below k = {k}"));
        output.WriteLine($"Firing frequency histogram (latents per decade): {r.Firing}");
        if (!json) return;
        output.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["tokens"] = r.Tokens, ["fvu"] = r.Fvu, ["mse"] = r.Mse, ["l0"] = r.L0, ["dead_fraction"] = r.DeadFraction,
            ["seconds"] = seconds, ["firing_histogram"] = FiringHistogram.Labels.Zip(r.Firing.Counts).ToDictionary(p => p.First, p => p.Second),
            ["active_per_token"] = r.ActivePerToken!, ["tokens_below_k"] = belowK,
        }));
    }
}
