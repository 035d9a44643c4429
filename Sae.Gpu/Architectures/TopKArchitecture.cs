
namespace SaeGpu.Architectures;

/// <summary>TopK (Gao et al., arXiv 2406.04093): per token, the k largest of ReLU(pre), fused with the encode.</summary>
internal sealed class TopKArchitecture : Architecture
{
    /// <inheritdoc />
    public override string Name => "topk";

    /// <inheritdoc />
    public override int Order => 10;

    /// <inheritdoc />
    public override bool SupportsMatryoshka => true;

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("topk", WritesK: true, LoadsAs: true);

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new TopKSelector(sae, rows);
}
