using SaeGpu.Compute;

namespace SaeGpu.Architectures;

/// <summary>
/// BatchTopK (Bussmann et al.): in training, the k·B largest positive entries of the whole pre [B, F]
/// (<c>Backend.BatchTopKThreshold</c>), so rows vary around k; inference keeps pre above the learned threshold.
/// <c>mutual-choice</c> is an alias: Mutual Choice (arXiv 2411.02124) allocates the total budget k·B freely between tokens
/// and features, which is this selection (the abstract states no other constraint; our reading).
/// </summary>
internal sealed class BatchTopKArchitecture : BatchBudgetArchitecture
{
    /// <inheritdoc />
    public override string Name => "batchtopk";

    /// <inheritdoc />
    public override IReadOnlyList<string> Aliases { get; } = ["mutual-choice"];

    /// <inheritdoc />
    public override int Order => 30;

    /// <inheritdoc />
    public override int TrainingBatchMatrices => 5;

    /// <inheritdoc />
    public override bool SupportsMatryoshka => true;

    /// <inheritdoc />
    protected override void BatchThresholds(SparseAutoencoder sae, Tensor<float> pre, int rows, Tensor<int>? budgets, Tensor<float> thresholds, Tensor<int> cuts) =>
        sae.Backend.BatchTopKThreshold(pre, sae.Config.K * rows, thresholds, cuts);
}
