using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// JumpReLU (Rajamanoharan et al., arXiv 2407.14435): a = pre·H(pre − θ_j) (and pre &gt; 0), with the step L0 penalty
/// <c>λ/B·Σ_b Σ_j H(pre_bj − θ_j)</c>; θ trains by the straight-through estimator with a rectangle kernel of bandwidth ε
/// (<see cref="Backend.JumpReluThresholdGrad"/>; ε = 0.05 for unnormalized inputs, ours). λ starts at option <c>l0</c> and is
/// steered so L0 approaches k (ours); θ starts at <c>init-threshold</c> when the SAE's thresholds are all zero (a fresh SAE).
/// Encoder rows start at 0.1 of the decoder's norm (ours). SAELens "jumprelu".
/// </summary>
internal class JumpReluArchitecture : Architecture
{
    /// <inheritdoc />
    public override string Name => "jumprelu";

    /// <inheritdoc />
    public override int Order => 70;

    /// <inheritdoc />
    public override int TrainingBatchMatrices => 5;

    /// <inheritdoc />
    public override float EncoderInitScale => 0.1f;

    /// <inheritdoc />
    public override IReadOnlyList<string> LatentParameters { get; } = ["threshold"];

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options { get; } =
    [
        ArchitectureOption.NonNegative("l0", 1e-4, "initial λ of the L0 penalty λ/B·Σ H(pre − θ), then steered to L0 = k"),
        SparsityController.RateOption,
        BandwidthOption,
        InitThresholdOption,
    ];

    /// <summary>ε of the straight-through rectangle kernel.</summary>
    protected static ArchitectureOption BandwidthOption { get; } =
        ArchitectureOption.Positive("bandwidth", 0.05, "ε of the straight-through rectangle kernel (ours: 0.05 for unnormalized inputs)");

    /// <summary>θ of every latent at the start of training.</summary>
    protected static ArchitectureOption InitThresholdOption { get; } =
        ArchitectureOption.NonNegative("init-threshold", 0.1, "θ of every latent at the start (a fresh SAE's thresholds are all 0)");

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("jumprelu", LoadsAs: true);

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new ThresholdSelector(sae, rows, "threshold");

    /// <inheritdoc />
    public override ArchitectureTraining CreateTraining(Trainer trainer) => new Training(trainer, CreateSelector(trainer.Sae, trainer.BatchSize), "l0");

    /// <summary>
    /// JumpReLU's training: θ and its gradient, the steered penalty coefficient λ, and the straight-through θ gradient of the
    /// reconstruction and of the step penalty (<see cref="StepPenaltyWeight"/> = λ/B per entry in the kernel's band).
    /// </summary>
    protected class Training : PenalizedTraining
    {
        private readonly Tensor<float> gTheta;

        /// <summary>Training of <paramref name="trainer"/>'s SAE; λ starts at option <paramref name="penaltyOption"/>.</summary>
        public Training(Trainer trainer, Selector selector, string penaltyOption) : base(trainer, selector, penaltyOption)
        {
            Bandwidth = (float)trainer.Option("bandwidth");
            gTheta = Backend.Allocate<float>(Sae.Config.Latents);
            Theta = Sae.Parameter("threshold");
            if (!Backend.ToHost(Theta).ContainsAnyExcept(0f))
                Backend.Upload<float>(Enumerable.Repeat((float)trainer.Option("init-threshold"), Sae.Config.Latents).ToArray(), Theta);
        }

        /// <summary>The thresholds θ [F].</summary>
        protected Tensor<float> Theta { get; }

        /// <summary>∂L/∂θ [F].</summary>
        protected Tensor<float> GradTheta => gTheta;

        /// <summary>ε of the rectangle kernel.</summary>
        protected float Bandwidth { get; }

        /// <inheritdoc />
        public override IReadOnlyList<(Tensor<float> Parameter, Tensor<float> Gradient)> ExtraParameters => [(Theta, gTheta)];

        /// <summary>Weight of the step penalty in the θ gradient (λ/B; 0 when the penalty is not the step function).</summary>
        protected virtual float StepPenaltyWeight => (float)(Lambda.Value / Trainer.BatchSize);

        /// <summary>Weight and scale c of a tanh penalty weight·Σ tanh(c·a) in the θ gradient ((0, 0): none).</summary>
        protected virtual (float Weight, float Scale) TanhPenalty => (0f, 0f);

        /// <summary>θ's straight-through gradient; returns <see cref="PenaltyLoss"/>.</summary>
        public override double AddParameterGradients()
        {
            var (tanhWeight, tanhScale) = TanhPenalty;
            Backend.JumpReluThresholdGrad(Trainer.Pre!, Theta, Trainer.GradOutput, Sae.WDec, Bandwidth, StepPenaltyWeight, tanhWeight, tanhScale, gTheta);
            return PenaltyLoss();
        }

        /// <summary>The sparsity penalty's value: the step penalty λ/B·(entries kept).</summary>
        protected virtual double PenaltyLoss() => Lambda.Value / Trainer.BatchSize * Trainer.Entries;

        /// <inheritdoc />
        public override void Dispose()
        {
            gTheta.Dispose();
            base.Dispose();
        }
    }
}
