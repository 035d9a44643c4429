using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// The architectures whose training selection is a budget over the whole batch (BatchTopK alias Mutual Choice, Feature Choice):
/// per step, thresholds and tie cuts [F] for the batch (<see cref="BatchThresholds"/>) and <c>Backend.ThresholdSelect</c>
/// above them. A single token has no batch, so inference keeps pre above a learned per-latent <c>threshold</c>:
/// θ ← EMA of the batch thresholds (decay <c>threshold-ema</c>; the first step sets θ directly; latents without a positive
/// batch threshold keep theirs) — ours; the dictionary_learning code uses 0.999 from step 1000. SAELens runs them as
/// "jumprelu" with that threshold.
/// </summary>
internal abstract class BatchBudgetArchitecture : Architecture
{
    /// <inheritdoc />
    public override IReadOnlyList<string> LatentParameters { get; } = ["threshold"];

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options => BaseOptions;

    /// <summary>The options every batch-budget architecture has: <c>threshold-ema</c>.</summary>
    protected static IReadOnlyList<ArchitectureOption> BaseOptions { get; } =
        [ArchitectureOption.HalfOpen("threshold-ema", 0.99, 0, 1, "decay of the EMA that estimates the inference thresholds from the batch thresholds")];

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("jumprelu");

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new ThresholdSelector(sae, rows, "threshold");

    /// <inheritdoc />
    public override ArchitectureTraining CreateTraining(Trainer trainer) => new Training(trainer, this);

    /// <summary>Entries the training selection can produce for <paramref name="rows"/> rows of an SAE shaped <paramref name="config"/>.</summary>
    protected virtual long TrainingCapacity(SaeConfig config, int rows) => (long)rows * config.Latents;

    /// <summary>Per-latent budgets [F] that the trainer keeps on its backend for <see cref="BatchThresholds"/>; null when there are none.</summary>
    protected virtual int[]? Budgets(Trainer trainer) => null;

    /// <summary>
    /// Writes the batch's thresholds and tie cuts [F] for pre [B, F] (<paramref name="rows"/> = B), with the
    /// <see cref="Budgets"/> when the architecture has them.
    /// </summary>
    protected abstract void BatchThresholds(SparseAutoencoder sae, Tensor<float> pre, int rows, Tensor<int>? budgets, Tensor<float> thresholds, Tensor<int> cuts);

    private sealed class Training : ArchitectureTraining
    {
        private readonly BatchBudgetArchitecture arch;
        private readonly Tensor<float> batchThresholds, theta;
        private readonly Tensor<int> cuts;
        private readonly Tensor<int>? budgets;
        private readonly float[] batchHost, thresholdsHost;
        private readonly float decay;

        public Training(Trainer trainer, BatchBudgetArchitecture arch) : base(trainer, arch.CreateSelector(trainer.Sae, trainer.BatchSize))
        {
            this.arch = arch;
            int f = Sae.Config.Latents;
            (batchThresholds, cuts) = (Backend.Allocate<float>(f), Backend.Allocate<int>(f));
            theta = Sae.Parameter("threshold");
            (batchHost, thresholdsHost) = (new float[f], new float[f]);
            decay = (float)trainer.Option("threshold-ema");
            if (arch.Budgets(trainer) is { } host) budgets = Backend.FromHost<int>(host);
        }

        public override long Capacity => arch.TrainingCapacity(Sae.Config, Trainer.BatchSize);

        public override bool NeedsPre => true;

        public override void Select()
        {
            Backend.Encode(Trainer.X, Sae.BDec, Sae.WEnc, Sae.BEnc, Trainer.Pre!);
            arch.BatchThresholds(Sae, Trainer.Pre!, Trainer.BatchSize, budgets, batchThresholds, cuts);
            Backend.ThresholdSelect(Trainer.Pre!, batchThresholds, cuts, Trainer.Codes);
        }

        public override void Observe()
        {
            Backend.Download(batchThresholds, batchHost);
            Backend.Download(theta, thresholdsHost);
            float d = Trainer.StepsTaken == 1 ? 0f : decay;
            for (int j = 0; j < batchHost.Length; j++)
                if (batchHost[j] > 0) thresholdsHost[j] = d * thresholdsHost[j] + (1 - d) * batchHost[j];
            Backend.Upload<float>(thresholdsHost, theta);
        }

        public override void Dispose()
        {
            batchThresholds.Dispose();
            cuts.Dispose();
            budgets?.Dispose();
            base.Dispose();
        }
    }
}
