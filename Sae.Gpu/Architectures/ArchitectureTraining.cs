using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// An architecture's part of one training run: the stages of <see cref="Trainer"/>'s step that an architecture may change,
/// each a virtual method whose default is the plain SAE's stage. The trainer runs, per step: <see cref="Select"/> (encode and
/// select into the trainer's codes), the reconstruction error (shifted by <see cref="ValueGradientShift"/>),
/// <see cref="AddValueGradients"/>, the decoder gradient, <see cref="EncoderGradients"/>, the auxiliary loss,
/// <see cref="AddParameterGradients"/>, <see cref="DecoderBiasGradient"/>; then Adam over the SAE's weights and
/// <see cref="ExtraParameters"/>, the decoder normalization, <see cref="AfterUpdate"/> and <see cref="Observe"/>. The terms
/// that add to the loss return their value, so the trainer can report the objective it differentiates. Owns its selector
/// and any scratch: the trainer disposes it.
/// </summary>
internal class ArchitectureTraining(Trainer trainer, Selector selector) : IDisposable, IResumable
{
    /// <summary>The trainer whose buffers the stages read and write.</summary>
    protected Trainer Trainer { get; } = trainer;

    /// <summary>The SAE being trained.</summary>
    protected SparseAutoencoder Sae => Trainer.Sae;

    /// <summary>The SAE's backend.</summary>
    protected Backend Backend => Trainer.Sae.Backend;

    /// <summary>The selection this training uses (the inference rule unless a subclass selects otherwise).</summary>
    public Selector Selector { get; } = selector;

    /// <summary>Entries a training selection can produce (sizes the trainer's codes).</summary>
    public virtual long Capacity => Selector.Capacity;

    /// <summary>True when the step needs pre [B, F] (a selection that is not fused with the encode, or a stage that reads pre).</summary>
    public virtual bool NeedsPre => !Selector.Fused;

    /// <summary>True when each step needs the downstream loss gradients ∂L/∂x [B, d] of its batch (g-SAE).</summary>
    public bool NeedsDownstreamGradients => Sae.Config.Strategy.NeedsDownstreamGradients;

    /// <summary>Parameters Adam trains besides W_enc, b_enc, W_dec, b_dec, each with its gradient tensor.</summary>
    public virtual IReadOnlyList<(Tensor<float> Parameter, Tensor<float> Gradient)> ExtraParameters => [];

    /// <summary>The current coefficient of a steered sparsity penalty (ReLU's L1, JumpReLU's L0); null when there is none.</summary>
    public virtual double? SparsityCoefficient => null;

    /// <summary>Encodes the trainer's batch and selects its training codes (default: the inference rule).</summary>
    public virtual void Select() => Selector.Encode(Trainer.X, Trainer.Pre, Trainer.Codes);

    /// <summary>A constant added to every value gradient by the fused error stage (ReLU's L1: λ/B).</summary>
    public virtual float ValueGradientShift => 0f;

    /// <summary>Adds loss terms on the code values to the value gradients (before they reach the encoder); returns their loss.</summary>
    public virtual double AddValueGradients() => 0;

    /// <summary>∂L/∂W_enc and ∂L/∂b_enc from the value gradients (overwrites both; also counts the entries per latent).</summary>
    public virtual void EncoderGradients() =>
        Backend.AggregateByLatent(Trainer.Codes, Trainer.GradValues, Trainer.X, Sae.BDec, false, Trainer.GradWEnc, Trainer.GradBEnc, Trainer.Counts);

    /// <summary>Gradients of <see cref="ExtraParameters"/> and any further terms (after the auxiliary loss); returns their loss.</summary>
    public virtual double AddParameterGradients() => 0;

    /// <summary>∂L/∂b_dec through the output and the encoder's centering.</summary>
    public virtual void DecoderBiasGradient() => Backend.DecoderBiasGrad(Trainer.GradOutput, Trainer.GradBEnc, Sae.WEnc, Trainer.GradBDec);

    /// <summary>Runs after the optimizer step and the decoder normalization (e.g. GBA's tied encoder).</summary>
    public virtual void AfterUpdate() { }

    /// <summary>Per-step state updates once the step's counts are known (<see cref="Trainer.CountsHost"/>, <see cref="Trainer.L0"/>).</summary>
    public virtual void Observe() { }

    /// <inheritdoc />
    public virtual void WriteState(BinaryWriter writer) { }

    /// <inheritdoc />
    public virtual void ReadState(BinaryReader reader) { }

    /// <summary>
    /// Σ of the stored values of <paramref name="codes"/> (over the SAE's F latents): per-latent sums on the backend (an
    /// aggregation over rows of width 1), added on the host, so only [F] floats move. <paramref name="counts"/> [F] receives
    /// the entries per latent.
    /// </summary>
    protected double ValueSum(SparseCodes codes, Tensor<int> counts)
    {
        valueSum ??= new ValueSumScratch(Backend, Trainer.BatchSize, Sae.Config.Latents);
        var s = valueSum;
        Backend.AggregateByLatent(codes, codes.Values, s.ZeroRows, s.Zero, false, s.Scratch, s.Sums, counts);
        Backend.Download(s.Sums, s.SumsHost);
        double sum = 0;
        foreach (float v in s.SumsHost) sum += v;
        return sum;
    }

    private ValueSumScratch? valueSum;

    private sealed class ValueSumScratch(Backend be, int rows, int latents) : IDisposable
    {
        public Tensor<float> ZeroRows { get; } = be.Allocate<float>(rows);
        public Tensor<float> Zero { get; } = be.Allocate<float>(1);
        public Tensor<float> Scratch { get; } = be.Allocate<float>(latents);
        public Tensor<float> Sums { get; } = be.Allocate<float>(latents);
        public float[] SumsHost { get; } = new float[latents];

        public void Dispose()
        {
            foreach (var t in new[] { ZeroRows, Zero, Scratch, Sums }) t.Dispose();
        }
    }

    /// <summary>Frees the selector and scratch.</summary>
    public virtual void Dispose()
    {
        valueSum?.Dispose();
        Selector.Dispose();
    }
}

/// <summary>
/// Training with a sparsity penalty whose coefficient λ is steered toward L0 = k (<see cref="SparsityController"/>; ReLU's
/// L1, JumpReLU's L0 or tanh penalty, the gated SAE's L1): λ starts at option <c>penaltyOption</c>, is updated from each
/// step's L0 and is part of the resumable state.
/// </summary>
internal abstract class PenalizedTraining(Trainer trainer, Selector selector, string penaltyOption) : ArchitectureTraining(trainer, selector)
{
    /// <summary>The steered penalty coefficient λ.</summary>
    protected SparsityController Lambda { get; } = SparsityController.For(trainer, penaltyOption);

    /// <inheritdoc />
    public override double? SparsityCoefficient => Lambda.Value;

    /// <inheritdoc />
    public override void Observe() => Lambda.Observe(Trainer.L0);

    /// <inheritdoc />
    public override void WriteState(BinaryWriter writer) => Lambda.WriteState(writer);

    /// <inheritdoc />
    public override void ReadState(BinaryReader reader) => Lambda.ReadState(reader);
}
