using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// ReLU with an L1 penalty: a = ReLU(pre), loss + <c>λ/B·Σ_b Σ_j a_bj·‖d_j‖</c> (decoder rows are unit norm, so the
/// penalty's value gradient is the constant λ/B). λ starts at option <c>l1</c> and a <see cref="SparsityController"/> steers it
/// so L0 approaches k (ours: every architecture can then be compared at matched L0). Encoder rows start at 0.1 of the decoder's
/// norm (ours, after Anthropic's small-norm initialization: with full-norm rows every positive pre fires at first and the
/// first reconstructions overshoot by orders of magnitude). SAELens "standard".
/// </summary>
internal sealed class ReluArchitecture : Architecture
{
    /// <inheritdoc />
    public override string Name => "relu";

    /// <inheritdoc />
    public override int Order => 60;

    /// <inheritdoc />
    public override int TrainingBatchMatrices => 7;

    /// <inheritdoc />
    public override float EncoderInitScale => 0.1f;

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options { get; } =
        [ArchitectureOption.NonNegative("l1", 1e-5, "initial λ of the L1 penalty λ/B·Σ a_j‖d_j‖, then steered to L0 = k"), SparsityController.RateOption];

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("standard", LoadsAs: true);

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new ThresholdSelector(sae, rows, null);

    /// <inheritdoc />
    public override ArchitectureTraining CreateTraining(Trainer trainer) => new Training(trainer, CreateSelector(trainer.Sae, trainer.BatchSize));

    private sealed class Training(Trainer trainer, Selector selector) : PenalizedTraining(trainer, selector, "l1")
    {
        private readonly float[] sums = new float[trainer.Sae.Config.Latents];

        public override float ValueGradientShift => (float)(Lambda.Value / Trainer.BatchSize);

        // The penalty's value λ/B·Σ a from the per-latent value sums of the decoder-gradient stage.
        public override double AddParameterGradients()
        {
            Backend.Download(Trainer.ValueSums, sums);
            double total = 0;
            foreach (float s in sums) total += s;
            return Lambda.Value / Trainer.BatchSize * total;
        }
    }
}
