using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// One way of choosing the sparse code: a strategy that holds everything the rest of SaeGpu needs to know about an
/// architecture. The SAE, the trainer, the formats and the CLI ask it; none of them names an architecture. It gives its
/// name, the extra per-latent parameters the SAE holds (<see cref="LatentParameters"/>), its training options
/// with their defaults, its encoder initialization scale, its inference selection (<see cref="CreateSelector"/>), its
/// training terms (<see cref="CreateTraining"/>: the training selection, extra loss and gradient terms, per-step state
/// updates), and how SAELens names it. Subclasses are stateless singletons, one file each in this folder, found by
/// <see cref="ArchitectureRegistry"/>: adding an architecture is adding a file.
/// </summary>
internal abstract class Architecture
{
    /// <summary>The name in configs, checkpoints and on the command line (lower case, e.g. <c>topk</c>).</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Other names that select this architecture (e.g. <c>mutual-choice</c> for BatchTopK); they are accepted wherever a name is
    /// and stay as given in configs, but listings show only <see cref="Name"/>.
    /// </summary>
    public virtual IReadOnlyList<string> Aliases => [];

    /// <summary>Position in listings (CLI help, <c>sae compare</c>'s default order); lower first, unique.</summary>
    public abstract int Order { get; }

    /// <summary>
    /// Norm of the initial encoder rows relative to the decoder rows they copy (W_enc = s·W_dec at initialization): 1 unless
    /// the architecture says otherwise.
    /// </summary>
    public virtual float EncoderInitScale => 1f;

    /// <summary>True when codes can be negative (a decoder row then stands for ±its direction, e.g. in ground-truth recovery).</summary>
    public virtual bool SignedCodes => false;

    /// <summary>True when training needs the downstream loss gradients ∂L/∂x [B, d] of each batch (g-SAE's selection).</summary>
    public virtual bool NeedsDownstreamGradients => false;

    /// <summary>True when the selection can train nested Matryoshka prefixes (<see cref="SaeConfig.MatryoshkaWidths"/>).</summary>
    public virtual bool SupportsMatryoshka => false;

    /// <summary>
    /// Names of the per-latent parameter vectors [F] the SAE holds besides W_enc, b_enc, W_dec and b_dec (e.g. JumpReLU's
    /// <c>threshold</c>); they are saved under these names in every format and zero-initialized.
    /// </summary>
    public virtual IReadOnlyList<string> LatentParameters => [];

    /// <summary>The training options this architecture reads from <see cref="TrainConfig.ArchitectureOptions"/>, with defaults.</summary>
    public virtual IReadOnlyList<ArchitectureOption> Options => [];

    /// <summary>How SAELens names and stores this architecture.</summary>
    public abstract SaeLensLayout SaeLens { get; }

    /// <summary>
    /// Matrices of [B, F] values (float or int) its training holds beyond the shared trainer's (dense pre-activations,
    /// codes with room for every latent, gates): the batch-proportional term of <see cref="MemoryEstimate"/>. Measured per
    /// architecture (Sae.Gpu.Tests' MemoryEstimateTests check it against the live heap).
    /// </summary>
    public virtual int TrainingBatchMatrices => 0;

    /// <summary>Extra [F, d] matrices its training holds (gated: the magnitude path's gradient).</summary>
    public virtual int TrainingWeightMatrices => 0;

    /// <summary>The inference selection for batches of <paramref name="rows"/> rows of <paramref name="sae"/> (owns scratch: dispose it).</summary>
    public abstract Selector CreateSelector(SparseAutoencoder sae, int rows);

    /// <summary>
    /// The training terms for <paramref name="trainer"/> (owns scratch: the trainer disposes it). The default trains with the
    /// inference selection and adds nothing to the reconstruction loss.
    /// </summary>
    public virtual ArchitectureTraining CreateTraining(Trainer trainer) => new(trainer, CreateSelector(trainer.Sae, trainer.BatchSize));

    /// <summary>The option named <paramref name="name"/> (throws when this architecture has none).</summary>
    public ArchitectureOption Option(string name) =>
        Options.FirstOrDefault(o => o.Name == name) ?? throw new ArgumentException($"Architecture '{Name}' has no option '{name}'.", nameof(name));

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// How SAELens stores an architecture: the cfg.json <c>architecture</c> string, whether cfg.json carries <c>k</c>, the
/// tensor name of b_enc, and whether a plain SAELens folder of that architecture (without SaeGpu's metadata) loads as this
/// one. Several SaeGpu architectures may share a SAELens name (they run alike at inference); exactly one of them loads it.
/// </summary>
/// <param name="Architecture">cfg.json's <c>architecture</c>: standard, topk, jumprelu or gated.</param>
/// <param name="WritesK">True for the per-token TopK family, whose cfg.json holds k.</param>
/// <param name="LoadsAs">True for the one architecture SaeGpu gives a plain SAELens folder of <paramref name="Architecture"/>.</param>
/// <param name="EncoderBias">The tensor name of b_enc (<c>b_gate</c> for gated SAEs).</param>
internal sealed record SaeLensLayout(string Architecture, bool WritesK = false, bool LoadsAs = false, string EncoderBias = "b_enc");
