using SaeGpu.Data;
using SaeGpu.Training;

namespace SaeGpu.Tests.Support;

/// <summary>The training loop the tests share: steps of a <see cref="Trainer"/> on batches of a source.</summary>
public static class TrainLoop
{
    /// <summary>
    /// Runs <paramref name="steps"/> (default: the trainer's configured steps) of <paramref name="trainer"/> on batches of
    /// <paramref name="data"/>, with the source's downstream gradients when the SAE needs them (g-SAE); returns the first
    /// and the last step's results.
    /// </summary>
    public static (StepResult First, StepResult Last) Run(Trainer trainer, IActivationSource data, int? steps = null)
    {
        var batch = new float[trainer.BatchSize * data.InputDim];
        bool withGradients = trainer.Sae.Config.NeedsDownstreamGradients;
        var gradients = withGradients ? new float[batch.Length] : [];
        StepResult first = default, last = default;
        for (int s = 0; s < (steps ?? trainer.Config.Steps); s++)
        {
            if (withGradients) data.NextBatch(batch, gradients);
            else data.NextBatch(batch);
            last = trainer.Step(batch, gradients);
            if (s == 0) first = last;
        }
        return (first, last);
    }
}
