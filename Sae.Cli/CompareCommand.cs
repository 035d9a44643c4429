using System.Globalization;
using System.Text.Json;
using SaeGpu.Data;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae compare</c>: trains every architecture on the same synthetic stream (same seed, same initialization) at matched
/// L0 — k per token, k on average, top-AFA capped at k, ReLU/JumpReLU/GBA steered to L0 = k — and prints one table.
/// </summary>
public static class CompareCommand
{
    /// <summary>Usage text.</summary>
    public static string Usage { get; } = """
        sae compare [options]    Train every architecture on the same synthetic data at matched L0; print a table.
          --archs A,B,...        architectures to compare (default: all; matryoshka names as for train also work)
          --backend NAME --latents F --k K --batch B --steps N --seed S --d D --features N --mean-active A
                                 as for 'train' (same defaults)
          --aux KIND             none | auxk | aux-zipf (default auxk)
          --NAME VALUE           any architecture option (see 'sae train --help'), applied to the architectures that have it
          --json                 also print one JSON array with the rows as the last line
        """;

    /// <summary>Runs the comparison; returns the exit code.</summary>
    public static int Run(IEnumerable<string> args, TextWriter output)
    {
        var o = new CliOptions(args, new HashSet<string> { "json", "help" });
        if (o.Flag("help")) { output.WriteLine(Usage); return 0; }
        var data = TrainCommand.ReadData(o);
        int latents = o.Int("latents", 512), k = o.Int("k", 8);
        var train = new TrainConfig(BatchSize: o.Int("batch", 1024), Steps: o.Int("steps", 1500), Seed: data.Seed,
            AuxLoss: TrainCommand.ReadAux(o));
        var models = (o.String("archs") ?? string.Join(',', SaeConfig.Architectures)).Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(a => ModelOptions.FromName(a, data.InputDim, latents, k, null)).ToArray();
        var options = ModelOptions.ReadArchitectureOptions(o, models.Select(m => m.Architecture));
        string? backendName = o.String("backend");
        bool json = o.Flag("json");
        o.RejectUnknown("compare");
        try
        {
            data.Validate();
            foreach (var m in models) ModelOptions.WithOptionsOf(train, options, m.Architecture).Validate(m.Validate());
        }
        catch (ArgumentException e) { throw new CliException(e.Message); }

        using var backend = CliOptions.CreateBackend(backendName);
        output.WriteLine($"Synthetic data: d={data.InputDim}, {data.Features} features, {data.MeanActive} active per token; " +
                         $"SAEs: F={latents}, k={k}; {train.Steps} steps × {train.BatchSize} tokens on {backend.Name}.");
        output.WriteLine();
        output.WriteLine("| arch | FVU | L0 | dead % | recovered % | mean max cos | train s |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        var rows = new List<Dictionary<string, object>>();
        foreach (var model in models)
        {
            var source = TrainCommand.Source(data);
            using var run = TrainingRun.Start(model, ModelOptions.WithOptionsOf(train, options, model.Architecture), source, new TrainingRunOptions(), backend);
            var trained = RunProgress.Run(run, output, 0);
            var r = RunProgress.Evaluate(run.Sae, source, train.BatchSize);
            double dead = trained.Last.DeadFraction;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {model.Name} | {r.Metrics.Fvu:F4} | {r.Metrics.L0:F2} | {100 * dead:F1} | {100 * r.Recovery!.RecoveredFraction:F1} | {r.Recovery!.MeanMaxCosine:F3} | {trained.Seconds:F1} |"));
            rows.Add(new()
            {
                ["arch"] = model.Name, ["fvu"] = r.Metrics.Fvu, ["l0"] = r.Metrics.L0, ["dead_fraction"] = dead,
                ["recovered_fraction"] = r.Recovery!.RecoveredFraction, ["mean_max_cosine"] = r.Recovery!.MeanMaxCosine, ["train_seconds"] = trained.Seconds,
                ["downstream_fvu"] = r.DownstreamFvu ?? double.NaN,
            });
        }
        if (json) output.WriteLine(JsonSerializer.Serialize(rows));
        return 0;
    }
}
