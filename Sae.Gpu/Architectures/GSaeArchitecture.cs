using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// g-SAE (arXiv 2411.10397): in training, the k latents with the largest score z·(1 + β·|d_j·g|), z = ReLU(pre), g the
/// downstream loss gradient w.r.t. the input (fed with each batch), keeping the values z (ours: the text we could read says
/// gradients only choose); inference is TopK on z, so it is written to SAELens as "topk".
/// </summary>
internal sealed class GSaeArchitecture : Architecture
{
    /// <inheritdoc />
    public override string Name => "gsae";

    /// <inheritdoc />
    public override int Order => 100;

    /// <inheritdoc />
    public override int TrainingBatchMatrices => 3;

    /// <inheritdoc />
    public override bool NeedsDownstreamGradients => true;

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options { get; } =
        [ArchitectureOption.NonNegative("beta", 1, "β of the selection score z·(1 + β·|d_j·g|) (ours; the paper's value was not available)")];

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("topk", WritesK: true);

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new TopKSelector(sae, rows);

    /// <inheritdoc />
    public override ArchitectureTraining CreateTraining(Trainer trainer) => new Training(trainer, CreateSelector(trainer.Sae, trainer.BatchSize));

    /// <summary>
    /// g-SAE's selection into <paramref name="codes"/>: proj = g·W_decᵀ (the Encode GEMM with zero biases) for the gradients
    /// g [B, d], overwritten in place by the score max(pre, 0)·(1 + β·|proj|); TopK by score; then each kept entry's value
    /// is pre at its pick. <paramref name="scratch"/> holds proj [B, F] and the zero biases.
    /// </summary>
    internal static void SelectByGradientScore(SparseAutoencoder sae, Tensor<float> pre, Tensor<float> gradients, float beta, GradientScoreScratch scratch, SparseCodes codes)
    {
        var be = sae.Backend;
        be.Encode(gradients, scratch.ZeroD, sae.WDec, scratch.ZeroF, scratch.Projection);
        be.GradientScore(pre, scratch.Projection, beta, scratch.Projection);
        be.TopK(scratch.Projection, sae.Config.K, false, null, codes);
        be.GatherCodes(codes, pre);
    }

    /// <summary>Scratch of <see cref="SelectByGradientScore"/> for batches of <paramref name="rows"/> rows: proj [B, F], zeros [d] and [F].</summary>
    internal sealed class GradientScoreScratch(SparseAutoencoder sae, int rows) : IDisposable
    {
        /// <summary>proj [B, F], then the score.</summary>
        public Tensor<float> Projection { get; } = sae.Backend.Allocate<float>((long)rows * sae.Config.Latents);

        /// <summary>Zeros [d].</summary>
        public Tensor<float> ZeroD { get; } = sae.Backend.Allocate<float>(sae.Config.InputDim);

        /// <summary>Zeros [F].</summary>
        public Tensor<float> ZeroF { get; } = sae.Backend.Allocate<float>(sae.Config.Latents);

        /// <summary>Frees the three tensors.</summary>
        public void Dispose()
        {
            Projection.Dispose();
            ZeroD.Dispose();
            ZeroF.Dispose();
        }
    }

    private sealed class Training(Trainer trainer, Selector selector) : ArchitectureTraining(trainer, selector)
    {
        private readonly GradientScoreScratch scratch = new(trainer.Sae, trainer.BatchSize);
        private readonly float beta = (float)trainer.Option("beta");

        public override bool NeedsPre => true;

        public override void Select()
        {
            Backend.Encode(Trainer.X, Sae.BDec, Sae.WEnc, Sae.BEnc, Trainer.Pre!);
            SelectByGradientScore(Sae, Trainer.Pre!, Trainer.Downstream!, beta, scratch, Trainer.Codes);
        }

        public override void Dispose()
        {
            scratch.Dispose();
            base.Dispose();
        }
    }
}
