using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// vSAE (arXiv 2509.22994): TopK on μ = ReLU(pre); in training the kept codes are sampled ã = μ + σ·s·ξ, ξ ~ N(0, 1)
/// (seeded, resumable), and <c>λ·2/(B·d)·Σ_b Σ_kept s²·KL(N(μ, σ²s²) ‖ N(0, s²)) = λ·2/(B·d)·Σ ½(μ² + s²(σ² − 1 − ln σ²))</c>
/// is added — on the scale where λ = 1 is the evidence lower bound with observation variance s² (ours); inference uses μ
/// (SAELens "topk"). The paper's posterior has unit variance and its prior is N(0, 1) in the model's own activation units;
/// here σ and the prior are measured in s = √(Σ_b ‖x_b − x̄‖² / (B·k)), the size of a typical code when k unit decoder rows
/// share a centred input's norm, taken from the first batch and kept in the training state (ours), so scaling the data by c
/// scales the codes by c and leaves the result unchanged instead of changing the noise-to-signal ratio by 1/c.
/// </summary>
internal sealed class VSaeArchitecture : Architecture
{
    /// <inheritdoc />
    public override string Name => "vsae";

    /// <inheritdoc />
    public override int Order => 110;

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options { get; } =
    [
        ArchitectureOption.NonNegative("posterior-sigma", 1, "fixed standard deviation σ of the Gaussian posterior N(μ, σ²s²), in units of the typical code size s of the first batch (1: the paper's unit variance; the unit is ours)"),
        ArchitectureOption.NonNegative("kl", 1, "weight λ of the KL term (1 = the ELBO with unit observation variance; ours)"),
    ];

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("topk", WritesK: true);

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new TopKSelector(sae, rows);

    /// <inheritdoc />
    public override ArchitectureTraining CreateTraining(Trainer trainer) => new Training(trainer, CreateSelector(trainer.Sae, trainer.BatchSize));

    private sealed class Training : ArchitectureTraining
    {
        private readonly Tensor<float> mu, noise;
        private readonly float[] noiseHost, muHost;
        private readonly ResumableRandom rng;
        private readonly double sigma, kl;
        private double scale; // s; 0 until the first batch

        public Training(Trainer trainer, Selector selector) : base(trainer, selector)
        {
            (mu, noise) = (Backend.Allocate<float>(Capacity), Backend.Allocate<float>(Capacity));
            (noiseHost, muHost) = (new float[Capacity], new float[Capacity]);
            rng = new ResumableRandom(unchecked(trainer.Config.Seed * 131 + 3));
            (sigma, kl) = (trainer.Option("posterior-sigma"), trainer.Option("kl"));
        }

        // Keep μ, then ã = μ + σ·s·ξ on the kept entries (reparameterization: ∂ã/∂μ = 1).
        public override void Select()
        {
            if (scale == 0) scale = TypicalCodeSize(Backend.ToHost(Trainer.X), Sae.Config.InputDim, Sae.Config.K);
            base.Select();
            Backend.Copy(Trainer.Codes.Values, mu);
            for (int i = 0; i < noiseHost.Length; i++) noiseHost[i] = (float)SparseAutoencoder.Gaussian(rng);
            Backend.Upload<float>(noiseHost, noise);
            Backend.Axpy((float)(sigma * scale), noise, Trainer.Codes.Values);
        }

        // s = √(Σ_b ‖x_b − x̄‖² / (B·k)); 1 for a batch without variance.
        private static double TypicalCodeSize(float[] x, int d, int k)
        {
            int b = x.Length / d;
            var mean = new double[d];
            for (int i = 0; i < x.Length; i++) mean[i % d] += x[i] / (double)b;
            double sum = 0;
            for (int i = 0; i < x.Length; i++) sum += (x[i] - mean[i % d]) * (x[i] - mean[i % d]);
            double s = Math.Sqrt(sum / ((double)b * k));
            return s > 0 && double.IsFinite(s) ? s : 1;
        }

        // ∂/∂μ of λ·2/(B·d)·Σ ½μ² is λ·2/(B·d)·μ. The reported term leaves out the σ constants when σ = 0 (where ln σ² = −∞).
        public override double AddValueGradients()
        {
            double scale = 2 * kl / ((double)Trainer.BatchSize * Sae.Config.InputDim);
            Backend.Axpy((float)scale, mu, Trainer.GradValues);
            int kept = Trainer.Codes.StoredEntries();
            var m = muHost.AsSpan(0, kept);
            if (kept > 0) Backend.Download(mu, m, 0);
            double sum = 0;
            foreach (float v in m) sum += 0.5 * v * v;
            if (sigma > 0) sum += kept * scale * scale * 0.5 * (sigma * sigma - 1 - Math.Log(sigma * sigma));
            return scale * sum;
        }

        public override void WriteState(BinaryWriter writer)
        {
            rng.WriteState(writer);
            writer.Write(scale);
        }

        public override void ReadState(BinaryReader reader)
        {
            rng.ReadState(reader);
            scale = reader.ReadDouble();
        }

        public override void Dispose()
        {
            mu.Dispose();
            noise.Dispose();
            base.Dispose();
        }
    }
}
