using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Formats;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae darkmatter</c>: the dark-matter report of a saved SAE on synthetic activations — how much of its error is
/// linearly predictable from the input (<see cref="DarkMatterReport"/>), what inference-time gradient pursuit over its
/// decoder achieves at the same L0 (<see cref="GradientPursuit"/>), and, with a second SAE, how their per-token error
/// norms relate (<see cref="ErrorNormComparison"/>).
/// </summary>
public static class DarkMatterCommand
{
    /// <summary>The <c>darkmatter</c> command, writing to <paramref name="output"/>.</summary>
    public static Command Create(TextWriter output)
    {
        var command = new Command("darkmatter", "Dark-matter report of a saved SAE (native file, SAELens or sparsify folder) on activation files (--data), or on a fresh stream of the synthetic data.");
        var sae = CliOptions.Required("--sae", "PATH", "the SAE to analyse");
        var compare = CliOptions.Text("--compare", "PATH", "a second SAE (e.g. another width): correlation of per-token error norms");
        var files = CliOptions.Text("--data", "PATH", "activations to analyse: .npy or .safetensors file, or a folder of shards (the first --tokens rows in file order); default: synthetic data");
        var tensor = CliOptions.Text("--tensor", "NAME", "safetensors tensor to read (default: the only 2-D one)");
        var tokens = CliOptions.Value("--tokens", 16384, "N", "tokens analysed (at most the rows of --data)");
        var fitFraction = CliOptions.Value("--fit-fraction", 0.5, "F", "share of the shuffled tokens used to fit, the rest held out");
        var gpK = CliOptions.Maybe<int>("--gp-k", "K", "latents per token for gradient pursuit (default: the SAE's L0, rounded)");
        var gpSigned = CliOptions.Flag("--gp-signed", "let gradient pursuit use negative codes too (default: only when the SAE's own codes can be negative, AbsTopK)");
        var backend = CliOptions.Backend();
        var json = CliOptions.Json("one JSON object with the report");
        foreach (Option o in new Option[] { sae, compare, files, tensor, tokens, fitFraction, gpK, gpSigned, backend, json }) command.Add(o);
        var data = new DataOptions(command);
        command.SetAction(r => Run(output, data.Read(r), r.GetValue(files), r.GetValue(tensor), r.GetValue(sae)!, r.GetValue(compare), r.GetValue(tokens),
            r.GetValue(fitFraction), r.GetValue(gpK), r.GetValue(gpSigned) ? true : null, r.GetValue(backend), r.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter output, SyntheticOptions data, string? files, string? tensor, string path, string? other, int tokens, double fitFraction,
        int? gpK, bool? gpSigned, string? backendName, bool json)
    {
        if (tokens < 2 || !(fitFraction > 0 && fitFraction < 1) || gpK is < 1)
            throw new CliException($"--tokens must be ≥ 2, --fit-fraction in (0, 1) and --gp-k ≥ 1 (got {tokens}, {fitFraction}, {gpK}).");

        using var backend = CliOptions.CreateBackend(backendName);
        using var sae = Load(backend, path);
        var x = files is null ? Synthetic(data, sae, path, tokens) : Read(files, tensor, sae, path, tokens);
        tokens = x.Length / sae.Config.InputDim;
        var report = DarkMatterReport.Measure(sae, x, fitFraction, data.Seed, gpK, gpSigned);
        double l0 = report.L0;
        int k = report.PursuitK;
        double gpFvu = report.PursuitFvu;
        var summary = new Dictionary<string, object>
        {
            ["sae"] = path, ["tokens"] = tokens, ["fit_tokens"] = report.FitTokens, ["fvu"] = report.Fvu, ["l0"] = l0,
            ["error_r2"] = report.ErrorR2, ["predictable_fraction"] = report.PredictableFraction, ["norm_r2"] = report.NormR2,
            ["linear_share"] = report.LinearShare, ["nonlinear_share"] = report.NonlinearShare, ["nonlinear_fvu"] = report.NonlinearFvu,
            ["gp_k"] = k, ["gp_fvu"] = gpFvu, ["gp_nonnegative"] = report.PursuitNonNegative, ["gp_error_removed"] = 1 - gpFvu / report.Fvu,
        };
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"""
            {path}: {sae.Config.Name}, d {sae.Config.InputDim}, F {sae.Config.Latents}, k {sae.Config.K}; {tokens} tokens ({report.FitTokens} fit, {tokens - report.FitTokens} held out)
              FVU {report.Fvu:F4}, L0 {l0:F2}
              error predicted linearly from x (held out): R² {report.ErrorR2:F4} (per dimension), {100 * report.PredictableFraction:F1} % of Σ‖e‖² removed
              ‖e‖² predicted linearly from x (held out): R² {report.NormR2:F4}
              split with W* fitted on all tokens: linear {100 * report.LinearShare:F1} %, nonlinear {100 * report.NonlinearShare:F1} % of Σ‖e‖²; nonlinear FVU {report.NonlinearFvu:F4}
              {(report.PursuitNonNegative ? "non-negative" : "signed")} gradient pursuit over the decoder at L0 ≤ {k}: FVU {gpFvu:F4} ({100 * (1 - gpFvu / report.Fvu):F1} % of the SAE's error removed)
            """));
        if (other is not null) Compare(backend, sae, other, x, output, summary);
        if (json) output.WriteLine(JsonSerializer.Serialize(summary));
        return 0;
    }

    private static void Compare(Backend backend, SparseAutoencoder sae, string other, float[] x, TextWriter output, Dictionary<string, object> summary)
    {
        using var b = Load(backend, other);
        if (b.Config.InputDim != sae.Config.InputDim) throw new CliException($"'{other}' has d = {b.Config.InputDim}, not {sae.Config.InputDim}.");
        var c = ErrorNormComparison.Measure(sae, b, x);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  vs {other} (F {b.Config.Latents}): per-token ‖e‖ correlation {c.NormCorrelation:F4} (means {c.MeanNormA:F4} → {c.MeanNormB:F4}); nonlinear ‖e − W*x‖ correlation {c.NonlinearNormCorrelation:F4} (means {c.MeanNonlinearNormA:F4} → {c.MeanNonlinearNormB:F4})"));
        summary["compare"] = other;
        summary["norm_correlation"] = c.NormCorrelation;
        summary["nonlinear_norm_correlation"] = c.NonlinearNormCorrelation;
        summary["mean_norms"] = new[] { c.MeanNormA, c.MeanNormB };
        summary["mean_nonlinear_norms"] = new[] { c.MeanNonlinearNormA, c.MeanNonlinearNormB };
    }

    // A fresh stream of the synthetic data; an SAE of another width was trained on other data, and is refused.
    private static float[] Synthetic(SyntheticOptions data, SparseAutoencoder sae, string path, int tokens)
    {
        if (sae.Config.InputDim != data.InputDim)
            throw new CliException($"'{path}' has d = {sae.Config.InputDim}; the synthetic data has d = {data.InputDim} (--d). Analyse it on its own activations with --data.");
        var x = new float[(long)tokens * data.InputDim];
        new SyntheticActivations(data with { StreamSeed = data.Seed + 1 }).NextBatch(x);
        return x;
    }

    // The first min(tokens, rows) rows of the activation files, in file order (the report shuffles them before splitting).
    private static float[] Read(string files, string? tensor, SparseAutoencoder sae, string path, int tokens)
    {
        using var data = CliOptions.Checked(() => new FileActivations(files, new FileActivationOptions(ShuffleBuffer: 1, TensorName: tensor)));
        CliOptions.CheckFinite(data);
        if (data.InputDim != sae.Config.InputDim) throw new CliException($"'{files}' has rows of {data.InputDim} values; '{path}' expects d = {sae.Config.InputDim}.");
        if (data.TotalRows < 2) throw new CliException($"'{files}' holds {data.TotalRows} row(s); the report needs at least 2.");
        return data.InOrder(tokens, tokens).First().ToArray();
    }

    private static SparseAutoencoder Load(Backend backend, string path) => CliOptions.Checked(() => SparseAutoencoder.Load(path, backend));
}
