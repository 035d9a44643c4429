using SaeGpu.Compute;
using SaeGpu.Evaluation;
using SaeGpu.Model;

namespace SaeGpu.Training;

/// <summary>What one training step measured. Loss = element-MSE Σ‖x̂ − x‖² / (B·d); FVU = Σ‖x̂ − x‖² / Σ‖x − x̄‖².</summary>
/// <param name="Step">1-based step number.</param>
/// <param name="Loss">Element-wise MSE of the batch before the update.</param>
/// <param name="Fvu">Fraction of variance unexplained of the batch.</param>
/// <param name="L0">Mean active latents per row.</param>
/// <param name="DeadFraction">Fraction of latents dead after this step.</param>
/// <param name="LearningRate">Rate used by this step.</param>
public readonly record struct StepResult(int Step, double Loss, double Fvu, double L0, double DeadFraction, double LearningRate);

/// <summary>
/// Trains a TopK <see cref="Sae"/> with Adam on any backend. One <see cref="Step"/> runs the named stages below, all on the
/// SAE's backend; after the dense encode GEMM every stage is sparse (O(B·k·d)) or one pass over the weights.
/// The training scratch tensors are owned by the trainer: dispose it (the SAE stays the caller's).
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly Sae sae;
    private readonly Backend be;
    private readonly TrainConfig config;
    private readonly int b, d, f;
    private readonly SparseCodes codes;
    private readonly Tensor<float> x, pre, xhat, gOut, sse, gValues, gWDec, gWEnc, gBEnc, gBDec, unusedSum, zeroD;
    private readonly Tensor<int> counts;
    private readonly AdamOptimizer adam;
    private readonly float[] sseHost;
    private readonly int[] countsHost;
    private int step;

    /// <summary>Prepares training of <paramref name="sae"/> with <paramref name="config"/> (validated).</summary>
    public Trainer(Sae sae, TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentNullException.ThrowIfNull(config);
        this.sae = sae;
        this.config = config.Validate();
        be = sae.Backend;
        (b, d, f) = (config.BatchSize, sae.Config.InputDim, sae.Config.Latents);
        codes = new SparseCodes(be, b, (long)b * sae.Config.K);
        long bd = (long)b * d, fd = (long)f * d, cap = (long)b * sae.Config.K;
        (x, xhat, gOut) = (be.Allocate<float>(bd), be.Allocate<float>(bd), be.Allocate<float>(bd));
        pre = be.Allocate<float>((long)b * f);
        (sse, gValues) = (be.Allocate<float>(b), be.Allocate<float>(cap));
        (gWDec, gWEnc) = (be.Allocate<float>(fd), be.Allocate<float>(fd));
        (gBEnc, unusedSum, gBDec, zeroD) = (be.Allocate<float>(f), be.Allocate<float>(f), be.Allocate<float>(d), be.Allocate<float>(d));
        counts = be.Allocate<int>(f);
        adam = new AdamOptimizer(be, [sae.WEnc, sae.BEnc, sae.WDec, sae.BDec], config.Beta1, config.Beta2, config.Epsilon);
        sseHost = new float[b];
        countsHost = new int[f];
        Dead = new DeadLatentTracker(f, config.DeadAfterTokens);
    }

    /// <summary>Dead-latent bookkeeping (tokens since each latent fired).</summary>
    public DeadLatentTracker Dead { get; }

    /// <summary>Steps taken so far.</summary>
    public int StepsTaken => step;

    /// <summary>Gradient of the loss w.r.t. W_enc [F, d] after <see cref="ComputeGradients"/>.</summary>
    public Tensor<float> GradWEnc => gWEnc;

    /// <summary>Gradient w.r.t. b_enc [F].</summary>
    public Tensor<float> GradBEnc => gBEnc;

    /// <summary>Gradient w.r.t. W_dec [F, d] (before the parallel component is removed).</summary>
    public Tensor<float> GradWDec => gWDec;

    /// <summary>Gradient w.r.t. b_dec [d] (through both the output and the encoder's centering).</summary>
    public Tensor<float> GradBDec => gBDec;

    /// <summary>The sparse codes of the last batch.</summary>
    public SparseCodes Codes => codes;

    /// <summary>One optimizer step on host rows <paramref name="batch"/> [B, d].</summary>
    public StepResult Step(ReadOnlySpan<float> batch)
    {
        double lr = config.LearningRateAt(step, f);
        ComputeGradients(batch);
        ProjectDecoderGradient();
        adam.Step([gWEnc, gBEnc, gWDec, gBDec], lr);
        NormalizeDecoder();
        step++;
        return Measure(batch, lr);
    }

    /// <summary>
    /// Forward and backward pass on <paramref name="batch"/> [B, d] without updating the weights: loss
    /// L = Σ‖x̂ − x‖² / (B·d) with x̂ = TopK(ReLU(pre))·W_dec + b_dec; fills the Grad* tensors. Sets b_dec to the batch
    /// mean first when no step has been taken yet.
    /// </summary>
    public void ComputeGradients(ReadOnlySpan<float> batch)
    {
        if (batch.Length != (long)b * d)
            throw new ArgumentException($"Batch has {batch.Length} values; expected B·d = {b}·{d} = {(long)b * d}.", nameof(batch));
        be.Upload(batch, x);
        if (step == 0) InitializeDecoderBias(batch);
        EncodeAndSelect();
        Decode();
        ComputeError();
        Backward();
    }

    private void InitializeDecoderBias(ReadOnlySpan<float> batch) => be.Upload<float>(Metrics.ColumnMean(batch, d), sae.BDec);

    private void EncodeAndSelect()
    {
        be.Encode(x, sae.BDec, sae.WEnc, sae.BEnc, pre);
        be.TopK(pre, sae.Config.K, absolute: false, null, codes);
    }

    private void Decode() => be.SparseDecode(codes, sae.WDec, sae.BDec, xhat);

    private void ComputeError() => be.ReconstructionError(x, xhat, 2f / (b * (float)d), gOut, sse);

    private void Backward()
    {
        be.ValueGrad(codes, gOut, sae.WDec, 0f, gValues);
        be.AggregateByLatent(codes, codes.Values, gOut, zeroD, false, gWDec, unusedSum, counts);
        be.AggregateByLatent(codes, gValues, x, sae.BDec, false, gWEnc, gBEnc, counts);
        be.DecoderBiasGrad(gOut, gBEnc, sae.WEnc, gBDec);
    }

    private void ProjectDecoderGradient() => be.RemoveParallelGrad(sae.WDec, d, gWDec);

    private void NormalizeDecoder() => be.NormalizeRows(d, sae.WDec);

    private StepResult Measure(ReadOnlySpan<float> batch, double lr)
    {
        be.Download(sse, sseHost);
        be.Download(counts, countsHost);
        Dead.Update(countsHost, b);
        double total = 0;
        foreach (float s in sseHost) total += s;
        long nnz = 0;
        foreach (int c in countsHost) nnz += c;
        return new StepResult(step, total / ((double)b * d), total / Metrics.TotalVariance(batch, d), (double)nnz / b,
            Dead.DeadFraction, lr);
    }

    /// <summary>Frees the trainer's scratch tensors and optimizer state.</summary>
    public void Dispose()
    {
        codes.Dispose();
        foreach (var t in new[] { x, pre, xhat, gOut, sse, gValues, gWDec, gWEnc, gBEnc, gBDec, unusedSum, zeroD }) t.Dispose();
        counts.Dispose();
        adam.Dispose();
    }
}
