using System.CommandLine;
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
    /// <summary>The <c>compare</c> command, writing to <paramref name="output"/>.</summary>
    public static Command Create(TextWriter output)
    {
        var command = new Command("compare", "Train every architecture on the same synthetic data at matched L0; print a table.");
        var archs = CliOptions.Names("--archs", "A,B,...", "architectures to compare (default: all; matryoshka names as for train also work)");
        var backend = CliOptions.Backend();
        var latents = CliOptions.Latents(512);
        var k = CliOptions.Value("--k", 8, "K", "active latents per token (the mean budget, top-AFA's cap or the target L0)");
        var batch = CliOptions.Batch(1024);
        var steps = CliOptions.Steps(1500);
        var aux = TrainCommand.AuxOption();
        var json = CliOptions.Json("one JSON array with the rows");
        foreach (Option o in new Option[] { archs, backend, latents, k, batch, steps, aux, json }) command.Add(o);
        var data = new DataOptions(command);
        var architecture = new ArchitectureOptions(command);
        command.SetAction(r =>
        {
            var synthetic = data.Read(r);
            var train = new TrainConfig(BatchSize: r.GetValue(batch), Steps: r.GetValue(steps), Seed: synthetic.Seed, AuxLoss: TrainCommand.ReadAux(r.GetValue(aux)!));
            var models = (r.GetList(archs) ?? [.. SaeConfig.Architectures])
                .Select(a => ModelOptions.FromName(a, synthetic.InputDim, r.GetValue(latents), r.GetValue(k), null)).ToArray();
            var options = architecture.Read(r, models.Select(m => m.Architecture));
            return Run(output, synthetic, train, models, options, r.GetValue(backend), r.GetValue(json));
        });
        return command;
    }

    private static int Run(TextWriter output, SyntheticOptions data, TrainConfig train, SaeConfig[] models, Dictionary<string, double>? options, string? backendName, bool json)
    {
        CliOptions.Validate(() =>
        {
            data.Validate();
            if (models.Length == 0) throw new ArgumentException("--archs names no architecture.");
            foreach (var m in models) ArchitectureOptions.WithOptionsOf(train, options, m.Architecture).Validate(m.Validate());
        });

        using var backend = CliOptions.CreateBackend(backendName);
        output.WriteLine($"Synthetic data: d={data.InputDim}, {data.Features} features, {data.MeanActive} active per token; " +
                         $"SAEs: F={models[0].Latents}, k={models[0].K}; {train.Steps} steps × {train.BatchSize} tokens on {backend.Name}.");
        output.WriteLine($"Dead: no firing in the last {train.EffectiveDeadAfterTokens} tokens; aux steps %: steps whose auxiliary term had dead latents to revive.");
        output.WriteLine();
        output.WriteLine("| arch | FVU | L0 | dead % | aux steps % | recovered % | mean max cos | train s |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        var rows = new List<Dictionary<string, object>>();
        foreach (var model in models)
        {
            var source = TrainCommand.Source(data);
            using var run = TrainingRun.Start(model, ArchitectureOptions.WithOptionsOf(train, options, model.Architecture), source, new TrainingRunOptions(), backend);
            var trained = RunProgress.Run(run, output, 0);
            var r = RunProgress.Evaluate(run.Sae, source, train.BatchSize);
            var dead = DeadLatents.Of(run);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {model.Name} | {r.Metrics.Fvu:F4} | {r.Metrics.L0:F2} | {100 * dead.Fraction:F1} | {100 * dead.AuxActiveFraction:F1} | {100 * r.Recovery!.RecoveredFraction:F1} | {r.Recovery!.MeanMaxCosine:F3} | {trained.Seconds:F1} |"));
            var row = new Dictionary<string, object>
            {
                ["arch"] = model.Name, ["fvu"] = r.Metrics.Fvu, ["l0"] = r.Metrics.L0,
                ["recovered_fraction"] = r.Recovery!.RecoveredFraction, ["mean_max_cosine"] = r.Recovery!.MeanMaxCosine, ["train_seconds"] = trained.Seconds,
                ["downstream_fvu"] = r.DownstreamFvu ?? double.NaN,
            };
            dead.AddTo(row);
            rows.Add(row);
        }
        if (json) output.WriteLine(JsonSerializer.Serialize(rows));
        return 0;
    }
}
