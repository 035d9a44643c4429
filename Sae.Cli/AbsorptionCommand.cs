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
    /// <summary>Usage text.</summary>
    public const string Usage = """
        sae absorption [options] Train TopK, BatchTopK and Matryoshka SAEs on hierarchical data at matched L0; print
                                 FVU, L0, dead %, recovery per level and absorption.
          --models A,B,...       models (default topk,batchtopk,matryoshka-topk,matryoshka-batchtopk)
          --random-prefixes N    also train matryoshka-batchtopk with N random prefixes per step (default 10; 0 = no)
          --widths M1,M2,...     Matryoshka widths (default the paper's fractions 1/32, 1/16, 1/8, 1/4, rest of F)
          --backend NAME --batch B --steps N --seed S   as for 'train' (defaults cpu, 1024, 3000, 0)
          --latents F            dictionary size (default 512)
          --k K                  active latents per token (default: the data's expected L0, rounded)
          --d D                  input width (default 64)
          --trees T --branching C --levels L   tree shape (default 24 roots, 3 children, 3 levels: 312 features)
          --root-p P             root firing probability (default 0.15)
          --child-p Q            probability that one child of a firing feature fires (default 0.6)
          --parent-cos R         cosine between child and parent directions (default 0.3)
          --eval-tokens N        held-out tokens for the metrics (default 16384)
          --json                 also print one JSON array with the rows as the last line
        """;

    /// <summary>Runs the comparison; returns the exit code.</summary>
    public static int Run(IEnumerable<string> args, TextWriter output)
    {
        var o = new CliOptions(args, new HashSet<string> { "json", "help" });
        if (o.Flag("help")) { output.WriteLine(Usage); return 0; }
        var data = new HierarchyOptions(InputDim: o.Int("d", 64), Trees: o.Int("trees", 24), Branching: o.Int("branching", 3),
            Levels: o.Int("levels", 3), RootProbability: o.Double("root-p", 0.15), ChildProbability: o.Double("child-p", 0.6),
            ParentCosine: o.Double("parent-cos", 0.3), Seed: o.Int("seed", 0));
        int latents = o.Int("latents", 512), k = o.Int("k", Math.Max(1, (int)Math.Round(data.MeanActive)));
        int randomPrefixes = o.Int("random-prefixes", 10), evalTokens = o.Int("eval-tokens", 16384);
        var widths = ModelOptions.Ints(o, "widths");
        var train = new TrainConfig(BatchSize: o.Int("batch", 1024), Steps: o.Int("steps", 3000), Seed: data.Seed);
        var runs = (o.String("models") ?? "topk,batchtopk,matryoshka-topk,matryoshka-batchtopk").Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(m => (Label: m.Trim(), Model: ModelOptions.FromName(m, data.InputDim, latents, k,
                m.Trim().StartsWith(ModelOptions.MatryoshkaPrefix, StringComparison.Ordinal) ? widths : null), Train: train)).ToList();
        if (randomPrefixes > 0)
            runs.Add(($"matryoshka-batchtopk, {randomPrefixes} random prefixes",
                ModelOptions.FromName("matryoshka-batchtopk", data.InputDim, latents, k, widths), train with { RandomPrefixes = randomPrefixes }));
        string? backendName = o.String("backend");
        bool json = o.Flag("json");
        o.RejectUnknown("absorption");
        try
        {
            data.Validate();
            if (evalTokens < 1) throw new ArgumentException($"--eval-tokens must be ≥ 1, got {evalTokens}.");
            foreach (var r in runs) r.Train.Validate(r.Model.Validate());
        }
        catch (ArgumentException e) { throw new CliException(e.Message); }

        using var backend = CliOptions.CreateBackend(backendName);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Hierarchical data: d={data.InputDim}, {data.Trees} trees × branching {data.Branching} × {data.Levels} levels = {data.Features} features, " +
            $"expected L0 {data.MeanActive:F2}, child/parent cos {data.ParentCosine}; SAEs: F={latents}, k={k}; {train.Steps} steps × {train.BatchSize} tokens on {backend.Name}; " +
            $"metrics on {evalTokens} held-out tokens."));
        output.WriteLine();
        string levelHeads = string.Concat(Enumerable.Range(0, data.Levels).Select(l => $" level {l} rec % |"));
        output.WriteLine($"| model | FVU | L0 | dead % | MMCS | recovered % |{levelHeads} absorption | miss alone | train s |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|" + string.Concat(Enumerable.Repeat("---:|", data.Levels)) + "---:|---:|---:|");
        var rows = new List<Dictionary<string, object>>();
        foreach (var (label, model, runTrain) in runs)
        {
            var source = new HierarchicalActivations(data);
            using var training = TrainingRun.Start(model, runTrain, source, new TrainingRunOptions(), backend);
            var run = RunProgress.Run(training, output, 0);
            var report = AbsorptionReport.Measure(training.Sae, source, evalTokens);
            string levels = string.Concat(report.Levels.Select(l => string.Create(CultureInfo.InvariantCulture, $" {100 * l.RecoveredFraction:F1} |")));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {label} | {report.Fvu:F4} | {report.L0:F2} | {100 * run.Last.DeadFraction:F1} | {report.Recovery.MeanMaxCosine:F3} | {100 * report.Recovery.RecoveredFraction:F1} |{levels} {report.Absorption:F3} | {report.MissAlone:F3} | {run.Seconds:F1} |"));
            rows.Add(new()
            {
                ["model"] = label, ["fvu"] = report.Fvu, ["l0"] = report.L0, ["dead_fraction"] = run.Last.DeadFraction,
                ["mean_max_cosine"] = report.Recovery.MeanMaxCosine, ["recovered_fraction"] = report.Recovery.RecoveredFraction,
                ["level_recovered_fraction"] = report.Levels.Select(l => l.RecoveredFraction).ToArray(),
                ["level_mean_max_cosine"] = report.Levels.Select(l => l.MeanMaxCosine).ToArray(),
                ["absorption"] = report.Absorption, ["miss_alone"] = report.MissAlone, ["train_seconds"] = run.Seconds,
            });
        }
        if (json) output.WriteLine(JsonSerializer.Serialize(rows));
        return 0;
    }
}
