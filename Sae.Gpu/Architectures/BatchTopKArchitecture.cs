using SaeGpu.Compute;

namespace SaeGpu.Architectures;

/// <summary>
/// BatchTopK (Bussmann et al.): in training, the k·B largest positive entries of the whole pre [B, F]
/// (<c>Backend.BatchTopKThreshold</c>), so rows vary around k; inference keeps pre above the learned threshold.
/// </summary>
internal class BatchTopKArchitecture : BatchBudgetArchitecture
{
    /// <inheritdoc />
    public override string Name => "batchtopk";

    /// <inheritdoc />
    public override int Order => 30;

    /// <inheritdoc />
    public override bool SupportsMatryoshka => true;

    /// <inheritdoc />
    protected override void BatchThresholds(SparseAutoencoder sae, Tensor<float> pre, int rows, Tensor<float> thresholds, Tensor<int> cuts) =>
        sae.Backend.BatchTopKThreshold(pre, sae.Config.K * rows, thresholds, cuts);
}
