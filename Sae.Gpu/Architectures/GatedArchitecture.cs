using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// Gated SAE (Rajamanoharan et al., arXiv 2404.16014). A gate path decides which latents fire and a magnitude path how
/// strongly: π = (x − b_dec)·W_gateᵀ + b_gate (W_gate is W_enc, b_gate is b_enc), mag = (x − b_dec)·W_magᵀ + b_mag with
/// W_mag = exp(r_mag) ⊙ W_gate row by row, and a = 1[π &gt; 0]·ReLU(mag). Since mag_j = e^{r_j}(π_j − θ_j) with
/// θ_j = b_gate_j − b_mag_j·e^{−r_j}, the code is the threshold selection π &gt; max(0, θ_j) with values e^{r_j}(π − θ_j)
/// (exact: every kept value is positive), from the one encode GEMM. The loss adds to the reconstruction
/// λ/B·Σ ReLU(π)·‖d_j‖ (decoder rows are unit norm) and the auxiliary reconstruction ‖x − (ReLU(π)·W_dec + b_dec)‖² through
/// a frozen decoder (stop-gradient on W_dec and b_dec, as in the paper and dictionary_learning; SAELens 6 does not detach),
/// on the MSE's scale 1/(B·d) (ours, like the main term). λ starts at option <c>l1</c> and is steered so L0 approaches k
/// (ours); encoder rows start at 0.1 of the decoder's norm (ours, as for ReLU). SAELens "gated": b_gate, r_mag, b_mag.
/// </summary>
internal sealed class GatedArchitecture : Architecture
{
    /// <inheritdoc />
    public override string Name => "gated";

    /// <inheritdoc />
    public override int Order => 120;

    /// <inheritdoc />
    public override int TrainingBatchMatrices => 10;

    /// <inheritdoc />
    public override int TrainingWeightMatrices => 1;

    /// <inheritdoc />
    public override float EncoderInitScale => 0.1f;

    /// <inheritdoc />
    public override IReadOnlyList<string> LatentParameters { get; } = ["r_mag", "b_mag"];

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options { get; } =
        [ArchitectureOption.NonNegative("l1", 1e-4, "initial λ of the gate's L1 penalty λ/B·Σ ReLU(π)‖d_j‖, then steered to L0 = k"), SparsityController.RateOption];

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("gated", LoadsAs: true, EncoderBias: "b_gate");

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new GatedSelector(sae, rows);

    /// <inheritdoc />
    public override ArchitectureTraining CreateTraining(Trainer trainer) => new Training(trainer, new GatedSelector(trainer.Sae, trainer.BatchSize));

    /// <summary>
    /// The gated code from the gate pre-activations π [B, F]: θ_j = b_gate_j − b_mag_j·e^{−r_j} and e^{r_j} are computed on the
    /// host (float64, [F] each), then π &gt; max(0, θ_j) is kept (<c>Backend.ThresholdSelect</c>) with values
    /// e^{r_j}(π − θ_j) (<see cref="Backend.ScaleLatents"/>).
    /// </summary>
    private sealed class GatedSelector(SparseAutoencoder sae, int rows) : Selector(sae, rows)
    {
        private static int F(SparseAutoencoder sae) => sae.Config.Latents;

        private readonly Tensor<float> rMag = sae.Parameter("r_mag"), bMag = sae.Parameter("b_mag");
        private readonly Tensor<float> theta = sae.Backend.Allocate<float>(F(sae)), scale = sae.Backend.Allocate<float>(F(sae));
        private readonly Tensor<int> noCuts = sae.Backend.FromHost<int>(Enumerable.Repeat(-1, F(sae)).ToArray());
        private readonly float[] thetaHost = new float[F(sae)], scaleHost = new float[F(sae)];
        private readonly float[] bGate = new float[F(sae)], r = new float[F(sae)], bMagHost = new float[F(sae)];
        private readonly double[] expR = new double[F(sae)];

        /// <summary>e^{r_mag} [F] of the last selection.</summary>
        public Tensor<float> Scale => scale;

        /// <summary>e^{r_mag} [F] of the last selection in float64, on the host.</summary>
        public ReadOnlySpan<double> ExpR => expR;

        public override long Capacity => (long)Rows * Sae.Config.Latents;

        public override void Select(Tensor<float> pre, Tensor<float> x, SparseCodes codes)
        {
            Backend.Download(Sae.BEnc, bGate);
            Backend.Download(rMag, r);
            Backend.Download(bMag, bMagHost);
            for (int j = 0; j < thetaHost.Length; j++)
            {
                double e = expR[j] = Math.Exp(r[j]);
                (thetaHost[j], scaleHost[j]) = ((float)(bGate[j] - bMagHost[j] / e), (float)e);
            }
            Backend.Upload<float>(thetaHost, theta);
            Backend.Upload<float>(scaleHost, scale);
            Backend.ThresholdSelect(pre, theta, noCuts, codes);
            Backend.ScaleLatents(codes, scale, theta, codes.Values);
        }

        public override void Dispose()
        {
            theta.Dispose();
            scale.Dispose();
            noCuts.Dispose();
        }
    }

    /// <summary>
    /// Gated training. With g = ∂L/∂a of the main codes A (from the fused error stage) and h = e^{r}·g (per entry): the
    /// magnitude path gives W_gate += Σ h·(x − b_dec) =: H_j, ∂L/∂r_j = ⟨W_gate_j, H_j⟩, ∂L/∂b_mag_j = Σ g = e^{−r_j}·Σ h and
    /// b_dec −= Σ_j (Σ h)·W_gate_j; the gate path's codes G = ReLU(π) feed the frozen-decoder reconstruction and the L1
    /// penalty, whose value gradients (<c>Backend.SparseDecodeGrad</c> with shift λ/B) give W_gate and b_gate.
    /// </summary>
    private sealed class Training : PenalizedTraining
    {
        private readonly GatedSelector selector;
        private readonly SparseCodes gate;
        private readonly Tensor<float> rMag, bMag, gR, gBMag, h, hSum, magGrad, gateGrad, auxOut, auxGrad, auxSse, zerosF, biasSum;
        private readonly Tensor<int> noCuts, gateCounts;
        private readonly float[] hSumHost, auxSseHost;
        private double gateLoss;

        public Training(Trainer trainer, GatedSelector selector) : base(trainer, selector, "l1")
        {
            this.selector = selector;
            int b = trainer.BatchSize, d = Sae.Config.InputDim, f = Sae.Config.Latents;
            var be = Backend;
            (rMag, bMag) = (Sae.Parameter("r_mag"), Sae.Parameter("b_mag"));
            gate = new SparseCodes(be, b, (long)b * f);
            (gR, gBMag, hSum, zerosF, biasSum) = (be.Allocate<float>(f), be.Allocate<float>(f), be.Allocate<float>(f), be.Allocate<float>(f),
                be.Allocate<float>(f));
            (h, gateGrad) = (be.Allocate<float>((long)b * f), be.Allocate<float>((long)b * f));
            magGrad = be.Allocate<float>((long)f * d);
            (auxOut, auxGrad, auxSse) = (be.Allocate<float>((long)b * d), be.Allocate<float>((long)b * d), be.Allocate<float>(b));
            noCuts = be.FromHost<int>(Enumerable.Repeat(-1, f).ToArray());
            gateCounts = be.Allocate<int>(f);
            (hSumHost, auxSseHost) = (new float[f], new float[b]);
        }

        public override IReadOnlyList<(Tensor<float> Parameter, Tensor<float> Gradient)> ExtraParameters => [(rMag, gR), (bMag, gBMag)];

        // Encode π, the main codes A (the selector) and the gate codes G = ReLU(π).
        public override void Select()
        {
            base.Select();
            Backend.ThresholdSelect(Trainer.Pre!, zerosF, noCuts, gate);
        }

        // The magnitude path into W_gate (H, through h = e^r·g) and, from the gate codes, the auxiliary reconstruction and the
        // L1 penalty into W_gate and b_gate.
        public override void EncoderGradients()
        {
            var be = Backend;
            be.Copy(Trainer.GradValues, h);
            be.ScaleLatents(Trainer.Codes, selector.Scale, zerosF, h);
            be.AggregateByLatent(Trainer.Codes, h, Trainer.X, Sae.BDec, false, magGrad, hSum, Trainer.Counts);
            float scale = 2f / (Trainer.BatchSize * (float)Sae.Config.InputDim), shift = (float)(Lambda.Value / Trainer.BatchSize);
            be.SparseDecodeGrad(gate, Sae.WDec, Sae.BDec, Trainer.X, scale, shift, auxOut, auxGrad, auxSse, gateGrad);
            be.AggregateByLatent(gate, gateGrad, Trainer.X, Sae.BDec, false, Trainer.GradWEnc, Trainer.GradBEnc, gateCounts);
            be.Axpy(1f, magGrad, Trainer.GradWEnc);
            be.RowDot(Sae.WEnc, magGrad, gR);
            GateLoss();
        }

        // λ/B·Σ ReLU(π) (the sum of G's values) + ‖x − x̂_aux‖²/(B·d).
        private void GateLoss()
        {
            double l1 = ValueSum(gate, gateCounts);
            Backend.Download(auxSse, auxSseHost);
            double aux = 0;
            foreach (float v in auxSseHost) aux += v;
            gateLoss = Lambda.Value / Trainer.BatchSize * l1 + aux / ((double)Trainer.BatchSize * Sae.Config.InputDim);
        }

        // ∂L/∂b_mag = e^{−r}·Σ h (on the host, [F], with the selection's e^r); returns the gate terms' loss.
        public override double AddParameterGradients()
        {
            Backend.Download(hSum, hSumHost);
            var expR = selector.ExpR;
            for (int j = 0; j < hSumHost.Length; j++) hSumHost[j] = (float)(hSumHost[j] / expR[j]);
            Backend.Upload<float>(hSumHost, gBMag);
            return gateLoss;
        }

        // b_dec's encoder share: −Σ_j (∂L/∂b_gate_j + e^{r_j}·Σ g)·W_gate_j.
        public override void DecoderBiasGradient()
        {
            Backend.Copy(Trainer.GradBEnc, biasSum);
            Backend.Axpy(1f, hSum, biasSum);
            Backend.DecoderBiasGrad(Trainer.GradOutput, biasSum, Sae.WEnc, Trainer.GradBDec);
        }

        public override void Dispose()
        {
            gate.Dispose();
            foreach (var t in new[] { gR, gBMag, h, hSum, magGrad, gateGrad, auxOut, auxGrad, auxSse, zerosF, biasSum }) t.Dispose();
            noCuts.Dispose();
            gateCounts.Dispose();
            base.Dispose();
        }
    }
}
