
namespace SaeGpu.Architectures;

/// <summary>
/// AbsTopK (arXiv 2510.00404): per token, the k largest |pre| with their signs, no ReLU. SAELens has no such
/// architecture: it is written as "topk" (SAELens would apply ReLU) and restored exactly from SaeGpu's metadata.
/// </summary>
internal sealed class AbsTopKArchitecture : Architecture
{
    /// <inheritdoc />
    public override string Name => "abstopk";

    /// <inheritdoc />
    public override int Order => 20;

    /// <inheritdoc />
    public override bool SupportsMatryoshka => true;

    /// <inheritdoc />
    public override bool SignedCodes => true;

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("topk", WritesK: true);

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new TopKSelector(sae, rows, absolute: true);
}
