using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// JumpReLU trained with Anthropic's tanh sparsity penalty and pre-activation loss (SAELens's
/// <c>jumprelu_sparsity_loss_mode = "tanh"</c> and <c>pre_act_loss_coefficient</c>) instead of the step penalty. The code is
/// JumpReLU's, a = pre·H(pre − θ). The loss adds <c>λ/B·Σ_b Σ_j tanh(c·a_bj·‖d_j‖)</c> (decoder rows unit norm; c = option
/// <c>tanh-scale</c>, SAELens's default 4), whose gradient reaches the kept values directly and θ through the jump
/// (straight-through, <see cref="Backend.JumpReluThresholdGrad"/>), and, for the latents that are dead
/// (<see cref="TrainConfig.EffectiveDeadAfterTokens"/>), <c>μ/(B·d)·Σ_b Σ_{j dead} ReLU(θ_j − pre_bj)·‖d_j‖</c>, which pushes their
/// pre-activations up toward θ (and θ down). μ is on the MSE's scale 1/(B·d) (ours), so SAELens's coefficients carry over:
/// the default 3e-6 is the one SAELens notes matches Anthropic. λ starts at option <c>l0</c> and is steered to L0 = k (ours,
/// as for JumpReLU). Saved as SAELens "jumprelu" with its threshold.
/// </summary>
internal sealed class JumpReluTanhArchitecture : JumpReluArchitecture
{
    /// <inheritdoc />
    public override string Name => "jumprelu-tanh";

    /// <inheritdoc />
    public override int Order => 130;

    /// <inheritdoc />
    public override int TrainingBatchMatrices => 7;

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options { get; } =
    [
        ArchitectureOption.NonNegative("l0", 1e-4, "initial λ of the tanh penalty λ/B·Σ tanh(c·a‖d_j‖), then steered to L0 = k"),
        ArchitectureOption.Positive("tanh-scale", 4, "c of the tanh penalty (SAELens's jumprelu_tanh_scale)"),
        ArchitectureOption.NonNegative("pre-act-coef", 3e-6, "μ of the dead latents' pre-activation loss μ/(B·d)·Σ ReLU(θ − pre)‖d_j‖ (0 = off)"),
        SparsityController.RateOption,
        BandwidthOption,
        InitThresholdOption,
    ];

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("jumprelu");

    /// <inheritdoc />
    public override ArchitectureTraining CreateTraining(Trainer trainer) => new TanhTraining(trainer, CreateSelector(trainer.Sae, trainer.BatchSize));

    private sealed class TanhTraining : Training
    {
        private readonly float tanhScale, preActCoefficient;
        private readonly SparseCodes below;
        private readonly Tensor<float> deadScale, zerosF, minusOnesF, stepF;
        private readonly Tensor<int> noCuts, belowCounts, scratchCounts;
        private readonly float[] deadScaleHost, gThetaHost;
        private float[] keptHost = [];
        private readonly int[] deadHost, belowCountsHost;

        public TanhTraining(Trainer trainer, Selector selector) : base(trainer, selector, "l0")
        {
            tanhScale = (float)trainer.Option("tanh-scale");
            preActCoefficient = (float)trainer.Option("pre-act-coef");
            int b = trainer.BatchSize, f = Sae.Config.Latents;
            var be = Backend;
            below = new SparseCodes(be, b, (long)b * f);
            (deadScale, zerosF) = (be.Allocate<float>(f), be.Allocate<float>(f));
            float step = -preActCoefficient / (b * (float)Sae.Config.InputDim);
            (minusOnesF, stepF) = (be.FromHost<float>(Enumerable.Repeat(-1f, f).ToArray()), be.FromHost<float>(Enumerable.Repeat(step, f).ToArray()));
            noCuts = be.FromHost<int>(Enumerable.Repeat(-1, f).ToArray());
            (belowCounts, scratchCounts) = (be.Allocate<int>(f), be.Allocate<int>(f));
            (deadScaleHost, gThetaHost) = (new float[f], new float[f]);
            (deadHost, belowCountsHost) = (new int[f], new int[f]);
        }

        private float Weight => (float)(Lambda.Value / Trainer.BatchSize);

        // No step penalty: the tanh penalty takes its place (its θ gradient through the jump, its value gradient below).
        protected override float StepPenaltyWeight => 0f;

        protected override (float Weight, float Scale) TanhPenalty => (Weight, tanhScale);

        // ∂/∂a of λ/B·Σ tanh(c·a) on the kept entries.
        public override double AddValueGradients()
        {
            Backend.TanhPenaltyGrad(Trainer.Codes, Weight, tanhScale, Trainer.GradValues);
            return 0;
        }

        public override double AddParameterGradients() => base.AddParameterGradients() + PreActLoss();

        // The tanh penalty's value λ/B·Σ tanh(c·a) over the kept entries (their values read back from the codes; this stage
        // runs after the trainer has counted them).
        protected override double PenaltyLoss()
        {
            if (keptHost.Length < Trainer.Entries) keptHost = new float[Trainer.Entries];
            var kept = keptHost.AsSpan(0, (int)Trainer.Entries);
            if (kept.Length > 0) Backend.Download(Trainer.Codes.Values, kept, 0);
            double sum = 0;
            foreach (float a in kept) sum += Math.Tanh((double)tanhScale * a);
            return Lambda.Value / Trainer.BatchSize * sum;
        }

        // For dead latents: the entries with pre < θ (θ − pre from a per-column map, then a threshold selection above 0); their
        // pre-activations each get −μ/(B·d) (into W_enc and b_enc), θ gets +μ/(B·d) per entry; returns μ/(B·d)·Σ (θ − pre).
        // The map overwrites pre [B, F] in place: nothing reads it after this stage (θ's gradient above already has). The
        // entries' values, once summed, are set to the constant −μ/(B·d) by ScaleLatents (v ↦ s·(v − c): s = 0 clears them,
        // then s = −1, c = −μ/(B·d)), so the encoder aggregation needs no [B, F] buffer of constants.
        private double PreActLoss()
        {
            if (preActCoefficient == 0) return 0;
            Trainer.Dead.FillDeadMask(deadHost);
            if (!deadHost.AsSpan().ContainsAnyExcept(0)) return 0;
            for (int j = 0; j < deadHost.Length; j++) deadScaleHost[j] = -deadHost[j];
            var be = Backend;
            be.Upload<float>(deadScaleHost, deadScale);
            be.ScaleColumns(Trainer.Pre!, deadScale, Theta, Trainer.Pre!);
            be.ThresholdSelect(Trainer.Pre!, zerosF, noCuts, below);
            double belowSum = ValueSum(below, belowCounts);
            be.ScaleLatents(below, zerosF, zerosF, below.Values);
            be.ScaleLatents(below, minusOnesF, stepF, below.Values);
            be.AggregateByLatent(below, below.Values, Trainer.X, Sae.BDec, true, Trainer.GradWEnc, Trainer.GradBEnc, scratchCounts);
            double scale = preActCoefficient / ((double)Trainer.BatchSize * Sae.Config.InputDim);
            be.Download(belowCounts, belowCountsHost);
            be.Download(GradTheta, gThetaHost);
            for (int j = 0; j < gThetaHost.Length; j++) gThetaHost[j] += (float)(scale * belowCountsHost[j]);
            be.Upload<float>(gThetaHost, GradTheta);
            return scale * belowSum;
        }

        public override void Dispose()
        {
            below.Dispose();
            foreach (var t in new[] { deadScale, zerosF, minusOnesF, stepF }) t.Dispose();
            noCuts.Dispose();
            belowCounts.Dispose();
            scratchCounts.Dispose();
            base.Dispose();
        }
    }
}
