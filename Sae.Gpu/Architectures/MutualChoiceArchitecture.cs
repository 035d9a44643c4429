namespace SaeGpu.Architectures;

/// <summary>
/// Mutual Choice (arXiv 2411.02124): the total budget k·B allocated freely between tokens and features — the same selection
/// as <see cref="BatchTopKArchitecture"/> (the paper's abstract defines no other constraint; our reading).
/// </summary>
internal sealed class MutualChoiceArchitecture : BatchTopKArchitecture
{
    /// <inheritdoc />
    public override string Name => "mutual-choice";

    /// <inheritdoc />
    public override int Order => 40;

    /// <inheritdoc />
    public override bool SupportsMatryoshka => false;
}
