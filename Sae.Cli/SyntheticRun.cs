using System.Diagnostics;
using System.Globalization;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Model;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>Final metrics of a training run on synthetic data, measured on a held-out batch.</summary>
/// <param name="Fvu">Fraction of variance unexplained.</param>
/// <param name="L0">Mean active latents per token (inference rule).</param>
/// <param name="DeadFraction">Dead latents at the end of training.</param>
/// <param name="Recovery">Ground-truth recovery of the decoder; null when the source has no known features (files).</param>
/// <param name="Seconds">Training wall time.</param>
/// <param name="TokensPerSecond">Training throughput.</param>
/// <param name="Firing">Histogram of the latents' firing frequencies (training EMA).</param>
/// <param name="PrefixFvu">Matryoshka: held-out FVU of each nested prefix (the last equals <paramref name="Fvu"/>); null otherwise.</param>
/// <param name="DownstreamFvu">With a downstream task (g-SAE's data): the relevant features' variance lost; null otherwise.</param>
public sealed record RunResult(double Fvu, double L0, double DeadFraction, GroundTruthRecovery? Recovery, double Seconds,
    double TokensPerSecond, FiringHistogram Firing, IReadOnlyList<double>? PrefixFvu = null, double? DownstreamFvu = null);

/// <summary>
/// What a training loop does besides stepping: restore a saved state before the first step, and after each step decide
/// whether to checkpoint or stop (the CLI's --checkpoint-every, --resume and --stop-after).
/// </summary>
/// <param name="Restore">Called once with the new trainer before training (resume); null to start fresh.</param>
/// <param name="AfterStep">Called after every step; returns true to stop the run there.</param>
public sealed record RunHooks(Action<Trainer>? Restore = null, Func<Trainer, StepResult, bool>? AfterStep = null);

/// <summary>Trains an SAE on a synthetic source and evaluates it on a held-out batch: shared by <c>train</c> and <c>compare</c>.</summary>
public static class SyntheticRun
{
    /// <summary>Trains <paramref name="sae"/> on <paramref name="source"/>; prints a progress line every <paramref name="logEvery"/> steps (0 = never).</summary>
    public static RunResult Run(Sae sae, TrainConfig train, IActivationSource source, int logEvery, TextWriter output) =>
        Run(sae, train, source, logEvery, output, new RunHooks())
        ?? throw new InvalidOperationException("A run without hooks cannot stop early.");

    /// <summary>
    /// As <see cref="Run(Sae, TrainConfig, IActivationSource, int, TextWriter)"/> with <paramref name="hooks"/>; training
    /// starts at the restored trainer's step. Returns null when a hook stopped the run (no evaluation then).
    /// </summary>
    public static RunResult? Run(Sae sae, TrainConfig train, IActivationSource source, int logEvery, TextWriter output, RunHooks hooks)
    {
        var trained = ConsoleProgress.Run(output, $"train {sae.Config.Architecture}", train.Steps,
            (report, log) => Train(sae, train, source, logEvery, log, hooks, report));
        if (trained is null) return null;
        var (fvu, l0, recovery, prefixFvu, downstream) = Evaluate(sae, source, train.BatchSize);
        return new RunResult(fvu, l0, trained.DeadFraction, recovery, trained.Seconds, trained.StepsRun * (double)train.BatchSize / trained.Seconds,
            trained.Firing, prefixFvu, downstream);
    }

    private sealed record Trained(double Seconds, int StepsRun, double DeadFraction, FiringHistogram Firing);

    // The training loop: steps from the (restored) trainer's step to the end, logging, reporting progress and calling the hooks.
    private static Trained? Train(Sae sae, TrainConfig train, IActivationSource source, int logEvery, TextWriter output, RunHooks hooks,
        Action<double, string>? report)
    {
        using var trainer = new Trainer(sae, train);
        hooks.Restore?.Invoke(trainer);
        var batch = new float[(long)train.BatchSize * sae.Config.InputDim];
        var withGradients = sae.Config.NeedsDownstreamGradients ? source as IGradientSource
            ?? throw new ArgumentException("g-SAE trains on a source with downstream gradients (IGradientSource).") : null;
        var gradients = withGradients is null ? [] : new float[batch.Length];
        var clock = Stopwatch.StartNew();
        int stepsRun = 0;
        while (trainer.StepsTaken < train.Steps)
        {
            if (withGradients is null) source.NextBatch(batch);
            else withGradients.NextBatch(batch, gradients);
            var last = trainer.Step(batch, gradients);
            stepsRun++;
            report?.Invoke(last.Step, string.Create(CultureInfo.InvariantCulture,
                $"step {last.Step}/{train.Steps}  FVU {last.Fvu:F4}  L0 {last.L0:F1}  dead {100 * last.DeadFraction:F1}%  {stepsRun * (double)train.BatchSize / clock.Elapsed.TotalSeconds:F0} tok/s"));
            if (logEvery > 0 && (last.Step % logEvery == 0 || last.Step == train.Steps))
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"step {last.Step,6}  loss {last.Loss:E3}  FVU {last.Fvu:F4}  L0 {last.L0:F2}  dead {100 * last.DeadFraction:F1}%  aux {last.AuxLoss:F3}  lr {last.LearningRate:E2}  {clock.Elapsed.TotalSeconds:F1}s"));
            if (hooks.AfterStep?.Invoke(trainer, last) == true) return null;
        }
        return new Trained(clock.Elapsed.TotalSeconds, stepsRun, trainer.Dead.DeadFraction, FiringHistogram.Compute(trainer.Frequency.Values));
    }

    private static (double Fvu, double L0, GroundTruthRecovery? Recovery, double[]? PrefixFvu, double? Downstream) Evaluate(Sae sae,
        IActivationSource source, int rows)
    {
        var x = new float[(long)rows * sae.Config.InputDim];
        source.NextBatch(x);
        using var codes = sae.Encode(x);
        var xhat = sae.Decode(codes);
        var (offsets, _, _) = codes.ToHost();
        var recovery = source is IGroundTruthSource truth
            ? GroundTruthRecovery.Of(sae, truth.Directions)
            : null;
        return (Metrics.Fvu(x, xhat, sae.Config.InputDim), (double)offsets[rows] / rows, recovery,
            sae.Config.IsMatryoshka ? PrefixMetrics.PrefixFvu(sae, x) : null, (source as DownstreamActivations)?.DownstreamFvu(x, xhat));
    }
}
