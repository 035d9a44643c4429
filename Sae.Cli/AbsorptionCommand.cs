using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae absorption</c>: trains TopK, BatchTopK and Matryoshka SAEs on the same hierarchical synthetic data (same seed,
/// same initialization, same k, so matched L0) and prints FVU, L0, dead %, recovery per tree level and feature absorption
/// (<see cref="AbsorptionReport"/>). Checks the Matryoshka paper's claim: less absorption at a small reconstruction cost.
/// </summary>
public static class AbsorptionCommand
{
    /// <summary>The <c>absorption</c> command, writing to <paramref name="output"/>.</summary>
    public static Command Create(TextWriter output)
    {
        var command = new Command("absorption", "Train TopK, BatchTopK and Matryoshka SAEs on hierarchical data at matched L0; print FVU, L0, dead %, recovery per level and absorption.");
        var models = CliOptions.Names("--models", "A,B,...", "models (default topk,batchtopk,matryoshka-topk,matryoshka-batchtopk)");
        var randomPrefixes = CliOptions.Value("--random-prefixes", 10, "N", "also train matryoshka-batchtopk with N random prefixes per step (0 = no)");
        var widths = CliOptions.Ints("--widths", "M1,M2,...", "Matryoshka widths (default the paper's fractions 1/32, 1/16, 1/8, 1/4, rest of F)");
        var backend = CliOptions.Backend();
        var batch = CliOptions.Batch(1024);
        var steps = CliOptions.Steps(3000);
        var seed = CliOptions.Seed();
        var latents = CliOptions.Latents(128);
        var k = CliOptions.Value("--k", 4, "K", "active latents per token (the data's expected L0 is 5.8 at the defaults)");
        var d = CliOptions.Value("--d", 64, "D", "input width");
        var trees = CliOptions.Value("--trees", 24, "T", "trees of features (24 × (1 + 3 children): 96 features at the defaults)");
        var branching = CliOptions.Value("--branching", 3, "C", "children per feature");
        var levels = CliOptions.Value("--levels", 2, "L", "levels per tree (a parent and its children)");
        var rootP = CliOptions.Value("--root-p", 0.15, "P", "root firing probability");
        var childP = CliOptions.Value("--child-p", 0.6, "Q", "probability that one child of a firing feature fires");
        var parentCos = CliOptions.Value("--parent-cos", 0.0, "R", "cosine between child and parent directions");
        var evalTokens = CliOptions.Value("--eval-tokens", 16384, "N", "held-out tokens for the metrics");
        var minCosine = CliOptions.Value("--min-cosine", AbsorptionReport.DefaultMinCosine, "C",
            "a parent counts only when its best decoder row has at least this cosine with it (ours); the others are reported as unmatched");
        var json = CliOptions.Json("one JSON array with the rows");
        foreach (Option o in new Option[] { models, randomPrefixes, widths, backend, batch, steps, seed, latents, k, d, trees, branching, levels, rootP, childP, parentCos, evalTokens, minCosine, json })
            command.Add(o);
        command.SetAction(r =>
        {
            var data = new HierarchyOptions(InputDim: r.GetValue(d), Trees: r.GetValue(trees), Branching: r.GetValue(branching), Levels: r.GetValue(levels),
                RootProbability: r.GetValue(rootP), ChildProbability: r.GetValue(childP), ParentCosine: r.GetValue(parentCos), Seed: r.GetValue(seed));
            var train = new TrainConfig(BatchSize: r.GetValue(batch), Steps: r.GetValue(steps), Seed: data.Seed);
            int kValue = r.GetValue(k);
            var runs = Runs(r.GetList(models) ?? ["topk", "batchtopk", "matryoshka-topk", "matryoshka-batchtopk"], r.GetValue(randomPrefixes),
                r.GetList(widths), data.InputDim, r.GetValue(latents), kValue, train);
            return Run(output, data, runs, r.GetValue(evalTokens), r.GetValue(minCosine), r.GetValue(backend), r.GetValue(json));
        });
        return command;
    }

    // One run per model name, and matryoshka-batchtopk with random prefixes when randomPrefixes > 0.
    private static List<(string Label, SaeConfig Model, TrainConfig Train)> Runs(string[] names, int randomPrefixes, int[]? widths, int d, int latents, int k, TrainConfig train)
    {
        var runs = names.Select(m => (Label: m, Model: ModelOptions.FromName(m, d, latents, k,
            m.StartsWith(ModelOptions.MatryoshkaPrefix, StringComparison.Ordinal) ? widths : null), Train: train)).ToList();
        if (randomPrefixes > 0)
            runs.Add(($"matryoshka-batchtopk, {randomPrefixes} random prefixes",
                ModelOptions.FromName("matryoshka-batchtopk", d, latents, k, widths), train with { RandomPrefixes = randomPrefixes }));
        return runs;
    }

    private static int Run(TextWriter output, HierarchyOptions data, List<(string Label, SaeConfig Model, TrainConfig Train)> runs, int evalTokens,
        double minCosine, string? backendName, bool json)
    {
        CliOptions.Validate(() =>
        {
            data.Validate();
            if (evalTokens < 1) throw new ArgumentException($"--eval-tokens must be ≥ 1, got {evalTokens}.");
            if (!(minCosine is >= 0 and <= 1)) throw new ArgumentException($"--min-cosine must be in [0, 1], got {minCosine}.");
            if (runs.Count == 0) throw new ArgumentException("--models names no model and --random-prefixes is 0.");
            foreach (var r in runs) r.Train.Validate(r.Model.Validate());
        });
        using var backend = CliOptions.CreateBackend(backendName);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Hierarchical data: d={data.InputDim}, {data.Trees} trees × branching {data.Branching} × {data.Levels} levels = {data.Features} features, " +
            $"expected L0 {data.MeanActive:F2}, child/parent cos {data.ParentCosine}; SAEs: F={runs[0].Model.Latents}, k={runs[0].Model.K}; {runs[0].Train.Steps} steps × {runs[0].Train.BatchSize} tokens on {backend.Name}; " +
            $"metrics on {evalTokens} held-out tokens; a parent is matched to a latent at cos ≥ {minCosine}; " +
            $"dead: no firing in the last {runs[0].Train.EffectiveDeadAfterTokens} tokens."));
        output.WriteLine();
        string levelHeads = string.Concat(Enumerable.Range(0, data.Levels).Select(l => $" level {l} rec % |"));
        output.WriteLine($"| model | FVU | L0 | dead % | aux steps % | MMCS | recovered % |{levelHeads} absorption | miss alone | unmatched parents | train s |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|" + string.Concat(Enumerable.Repeat("---:|", data.Levels)) + "---:|---:|---:|---:|");
        var rows = new List<Dictionary<string, object>>();
        foreach (var (label, model, runTrain) in runs)
        {
            var source = new HierarchicalActivations(data);
            using var training = TrainingRun.Start(model, runTrain, source, new TrainingRunOptions(), backend);
            var run = RunProgress.Run(training, output, 0);
            var report = AbsorptionReport.Measure(training.Sae, source, evalTokens, minCosine);
            var dead = DeadLatents.Of(training);
            string levels = string.Concat(report.Levels.Select(l => string.Create(CultureInfo.InvariantCulture, $" {100 * l.RecoveredFraction:F1} |")));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {report.Fvu:F4} | {report.L0:F2} | {100 * dead.Fraction:F1} | {100 * dead.AuxActiveFraction:F1} | {report.Recovery.MeanMaxCosine:F3} | {100 * report.Recovery.RecoveredFraction:F1} |{levels} {report.Absorption:F3} | {report.MissAlone:F3} | {report.ParentsUnmatched} | {run.Seconds:F1} |"));
            var row = new Dictionary<string, object>
            {
                ["model"] = label, ["fvu"] = report.Fvu, ["l0"] = report.L0,
                ["mean_max_cosine"] = report.Recovery.MeanMaxCosine, ["recovered_fraction"] = report.Recovery.RecoveredFraction,
                ["level_recovered_fraction"] = report.Levels.Select(l => l.RecoveredFraction).ToArray(),
                ["level_mean_max_cosine"] = report.Levels.Select(l => l.MeanMaxCosine).ToArray(),
                ["absorption"] = report.Absorption, ["miss_alone"] = report.MissAlone, ["parents_unmatched"] = report.ParentsUnmatched,
                ["min_cosine"] = minCosine, ["train_seconds"] = run.Seconds,
            };
            dead.AddTo(row);
            rows.Add(row);
        }
        if (json) output.WriteLine(JsonSerializer.Serialize(rows));
        return 0;
    }
}
