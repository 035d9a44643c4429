using System.Globalization;

namespace SaeGpu.Cli;

/// <summary>What a trained SAE does on held-out rows: its metrics and, on synthetic data, recovery and the downstream FVU.</summary>
/// <param name="Metrics">FVU, MSE, L0, … of the rows (Matryoshka: per prefix too).</param>
/// <param name="Recovery">Ground-truth recovery of the decoder; null when the data has no known features.</param>
/// <param name="DownstreamFvu">The relevant features' variance lost, when the data has a downstream loss; else null.</param>
public sealed record HeldOut(SaeMetrics Metrics, GroundTruthRecovery? Recovery, double? DownstreamFvu);

/// <summary>The dead latents at the end of a run, with the window that defined them and how often the auxiliary term ran.</summary>
/// <param name="Fraction">Fraction of the F latents that did not fire in the last <paramref name="WindowTokens"/> tokens.</param>
/// <param name="WindowTokens">The dead-latent window (<see cref="TrainConfig.EffectiveDeadAfterTokens"/>).</param>
/// <param name="AuxActiveFraction">Fraction of the run's steps whose auxiliary loss (AuxK, aux_zipf) was non-zero, i.e. had latents to revive.</param>
public sealed record DeadLatents(double Fraction, long WindowTokens, double AuxActiveFraction)
{
    /// <summary>The dead latents of <paramref name="run"/>'s last step.</summary>
    public static DeadLatents Of(TrainingRun run) => new(run.Trainer.DeadFraction, run.Trainer.Config.EffectiveDeadAfterTokens,
        run.History.Count == 0 ? 0 : (double)run.History.Count(s => s.AuxLoss > 0) / run.History.Count);

    /// <summary>Adds <c>dead_fraction</c>, <c>dead_window_tokens</c> and <c>aux_active_fraction</c> to a --json row.</summary>
    public void AddTo(Dictionary<string, object> row)
    {
        row["dead_fraction"] = Fraction;
        row["dead_window_tokens"] = WindowTokens;
        row["aux_active_fraction"] = AuxActiveFraction;
    }
}

/// <summary>The CLI's face of a <see cref="TrainingRun"/>: a progress bar on a terminal, log lines, and <c>--stop-after</c>.</summary>
public static class RunProgress
{
    /// <summary>
    /// Runs <paramref name="run"/> to its end, or until step <paramref name="stopAfter"/> (then it saves a resumable
    /// checkpoint): a progress bar with live metrics on an interactive terminal, and a log line every
    /// <paramref name="logEvery"/> steps (0 = none) and at the last step.
    /// </summary>
    public static TrainingResult Run(TrainingRun run, TextWriter output, int logEvery, int? stopAfter = null)
    {
        int steps = run.Trainer.Config.Steps, batch = run.Trainer.BatchSize;
        return ConsoleProgress.Run(output, $"train {run.Sae.Config.Architecture}", steps, (report, log) =>
        {
            using var stop = new CancellationTokenSource();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int stepsRun = 0;
            var progress = new StepReporter(last =>
            {
                stepsRun++;
                report?.Invoke(last.Step, string.Create(CultureInfo.InvariantCulture,
                    $"step {last.Step}/{steps}  FVU {last.Fvu:F4}  L0 {last.L0:F1}  dead {100 * last.DeadFraction:F1}%  {stepsRun * (double)batch / clock.Elapsed.TotalSeconds:F0} tok/s"));
                if (logEvery > 0 && (last.Step % logEvery == 0 || last.Step == steps))
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"step {last.Step,6}  loss {last.Loss:E3}  FVU {last.Fvu:F4}  L0 {last.L0:F2}  dead {100 * last.DeadFraction:F1}%  aux {last.AuxLoss:F3}  lr {last.LearningRate:E2}  {clock.Elapsed.TotalSeconds:F1}s"));
                if (last.Step >= stopAfter) stop.Cancel();
            });
            try { return run.Run(progress, stop.Token); }
            catch (TrainingDivergedException e) { throw new CliException(e.Message + " Lower --lr or check the data."); }
        });
    }

    /// <summary>Metrics of <paramref name="sae"/> on the next <paramref name="rows"/> rows of <paramref name="source"/> (fresh tokens for synthetic data).</summary>
    public static HeldOut Evaluate(SparseAutoencoder sae, IActivationSource source, int rows)
    {
        var x = new float[(long)rows * sae.Config.InputDim];
        source.NextBatch(x);
        var synthetic = source as SyntheticActivations;
        return new HeldOut(sae.Evaluate(x), synthetic?.Recovery(sae),
            synthetic is { ProvidesGradients: true } ? synthetic.DownstreamFvu(x, sae.Decode(sae.Encode(x))) : null);
    }

    // IProgress<T> that reports synchronously (System.Progress<T> posts to a synchronization context).
    private sealed class StepReporter(Action<StepResult> report) : IProgress<StepResult>
    {
        public void Report(StepResult value) => report(value);
    }
}
