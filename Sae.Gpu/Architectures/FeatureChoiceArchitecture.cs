using SaeGpu.Compute;

namespace SaeGpu.Architectures;

/// <summary>
/// Feature Choice (arXiv 2411.02124): in training each latent takes its top m = max(1, round(k·B/F)) tokens of the batch
/// (<see cref="Backend.ColumnTopKThreshold"/>); inference keeps pre above each latent's learned threshold.
/// </summary>
internal sealed class FeatureChoiceArchitecture : BatchBudgetArchitecture
{
    /// <inheritdoc />
    public override string Name => "feature-choice";

    /// <inheritdoc />
    public override int Order => 50;

    /// <summary>The per-latent budget m = max(1, round(k·B/F)) tokens per batch of <paramref name="rows"/> rows.</summary>
    public static int Budget(SaeConfig config, int rows) => Math.Max(1, (int)Math.Round((double)config.K * rows / config.Latents));

    /// <inheritdoc />
    protected override long TrainingCapacity(SaeConfig config, int rows) => (long)Math.Min(rows, Budget(config, rows)) * config.Latents;

    /// <inheritdoc />
    protected override void BatchThresholds(SparseAutoencoder sae, Tensor<float> pre, int rows, Tensor<float> thresholds, Tensor<int> cuts) =>
        sae.Backend.ColumnTopKThreshold(pre, Budget(sae.Config, rows), thresholds, cuts);
}
