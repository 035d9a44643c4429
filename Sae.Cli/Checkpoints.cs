using SaeGpu.Formats;
using SaeGpu.Model;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae train</c>'s checkpoints: every <paramref name="every"/> steps (and when stopped by --stop-after) the SAE is saved to
/// <paramref name="outPath"/> as it serves raw inputs, and the resumable <see cref="TrainingState"/> (with
/// <paramref name="header"/>, the run's options) next to it — each file atomically, the weights first — along with the
/// <see cref="TrainingHistory"/> CSV and plots, which are also written at the last step. A completed run removes the state file.
/// </summary>
/// <param name="sae">The SAE being trained.</param>
/// <param name="outPath">The run's --out.</param>
/// <param name="inputScale">Scale of the training inputs, folded into the saved weights.</param>
/// <param name="header">The run's options, stored in the state for --resume.</param>
/// <param name="source">The data source, whose position is part of the state.</param>
/// <param name="every">Steps between checkpoints; 0 = none.</param>
/// <param name="stopAfter">Stop (with a checkpoint) after this step; null = run to the end.</param>
/// <param name="steps">The run's total steps.</param>
/// <param name="output">Where messages go.</param>
public sealed class Checkpoints(Sae sae, string outPath, float inputScale, string header, IResumable source, int every, int? stopAfter,
    int steps, TextWriter output)
{
    private readonly string statePath = SaeFiles.StatePath(outPath), metricsPath = SaeFiles.CompanionPath(outPath, "metrics.csv");
    private TrainingHistory history = new();

    /// <summary>Hooks for <see cref="SyntheticRun"/>: restore from <paramref name="resumeFrom"/> (a state file) when given, checkpoint and stop after steps.</summary>
    public RunHooks Hooks(string? resumeFrom) => new(resumeFrom is null ? null : trainer => Restore(trainer, resumeFrom), AfterStep);

    /// <summary>Removes the state file of a completed run.</summary>
    public void Complete()
    {
        if (File.Exists(statePath)) File.Delete(statePath);
    }

    private void Restore(Trainer trainer, string path)
    {
        try { TrainingState.Restore(path, trainer, source); }
        catch (InvalidDataException e) { throw new CliException(e.Message); }
        history = TrainingHistory.ReadCsv(metricsPath, trainer.StepsTaken);
        output.WriteLine($"Resumed at step {trainer.StepsTaken} from {path}.");
    }

    private bool AfterStep(Trainer trainer, StepResult result)
    {
        history.Add(result);
        if (result.Step >= steps)
        {
            WriteHistory(trainer);
            return false;
        }
        bool stop = result.Step >= stopAfter;
        if (stop || (every > 0 && result.Step % every == 0))
        {
            SaeFiles.Save(sae, outPath, inputScale);
            TrainingState.Save(statePath, header, trainer, source);
            WriteHistory(trainer);
        }
        if (stop) output.WriteLine($"Stopped after step {result.Step}; continue with: sae train --resume {outPath}");
        return stop;
    }

    private void WriteHistory(Trainer trainer)
    {
        history.WriteCsv(metricsPath);
        string name = $"{sae.Config.Architecture} SAE, F = {sae.Config.Latents}, k = {sae.Config.K}";
        history.PlotCurves(SaeFiles.CompanionPath(outPath, "training_curves.png"), name);
        TrainingHistory.PlotDensity(trainer.Frequency.Values, SaeFiles.CompanionPath(outPath, "feature_density.png"), $"Feature density at step {trainer.StepsTaken}: {name}");
    }
}
