using SaeGpu.Compute;

namespace SaeGpu.Training;

/// <summary>
/// The AuxK-style term (Gao et al., arXiv 2406.04093, as in PAPERS §0.2): among the latents allowed by a mask (dead ones for
/// AuxK; dead or under-used ones for aux_zipf), a_aux = TopK_{k_aux}(ReLU(pre restricted to the mask)); ê = a_aux·W_dec
/// (no bias) predicts the detached residual e = x − x̂, with
/// <c>L_aux = Σ‖e − ê‖² / Σ‖e − ē‖²</c>, added to the loss as α·L_aux. Its gradients are accumulated into the trainer's
/// W_enc, b_enc and W_dec gradients (b_dec receives its share through the encoder, in DecoderBiasGrad afterwards).
/// The masked selection is <c>Backend.EncodeTopK</c> restricted to the eligible latents, so it costs (eligible / F)
/// of an encode and never holds a [B, F] matrix (ours; equal to TopK of the masked pre). Owns scratch tensors: dispose it.
/// </summary>
internal sealed class AuxiliaryLoss : IDisposable
{
    private readonly Backend be;
    private readonly int b, d, kAux;
    private readonly SparseCodes codes;
    private readonly Tensor<float> residual, prediction, grad, sse, gValues, colSum, zeroD, zeroF, unusedSum;
    private readonly Tensor<int> mask, counts;
    private readonly float[] sseHost;
    private readonly float[] colSumHost;

    /// <summary>Scratch for batches of <paramref name="rows"/> rows of <paramref name="sae"/>, selecting <paramref name="kAux"/> latents per row.</summary>
    public AuxiliaryLoss(SparseAutoencoder sae, int rows, int kAux)
    {
        be = sae.Backend;
        (b, d) = (rows, sae.Config.InputDim);
        int f = sae.Config.Latents;
        this.kAux = Math.Min(kAux, f);
        codes = new SparseCodes(be, rows, (long)rows * this.kAux);
        (residual, prediction, grad) = (be.Allocate<float>((long)rows * d), be.Allocate<float>((long)rows * d), be.Allocate<float>((long)rows * d));
        (sse, gValues) = (be.Allocate<float>(rows), be.Allocate<float>(codes.Capacity));
        (colSum, zeroD, zeroF, unusedSum) = (be.Allocate<float>(d), be.Allocate<float>(d), be.Allocate<float>(f), be.Allocate<float>(f));
        (mask, counts) = (be.Allocate<int>(f), be.Allocate<int>(f));
        sseHost = new float[rows];
        colSumHost = new float[d];
    }

    /// <summary>
    /// Adds α·∂L_aux to the gradients for the latents in <paramref name="maskHost"/> [F] (non-zero = eligible); returns L_aux
    /// (0 when no latent is eligible or the residual has no variance). <paramref name="mainSse"/> is Σ‖x − x̂‖² of the batch.
    /// </summary>
    public double Apply(ReadOnlySpan<int> maskHost, double alpha, SparseAutoencoder sae, Tensor<float> x, Tensor<float> xhat, double mainSse,
        Tensor<float> gWEnc, Tensor<float> gBEnc, Tensor<float> gWDec)
    {
        if (!maskHost.ContainsAnyExcept(0)) return 0;
        be.Upload(maskHost, mask);
        be.EncodeTopK(x, sae.BDec, sae.WEnc, sae.BEnc, mask, kAux, false, null, codes);
        be.SparseDecode(codes, sae.WDec, zeroD, prediction);
        be.ReconstructionError(xhat, x, 1f, residual, sse);
        double variance = ResidualVariance(mainSse, sae.WEnc);
        if (!(variance > 0)) return 0;
        be.ReconstructionError(residual, prediction, (float)(2 * alpha / variance), grad, sse);
        be.ValueGrad(codes, grad, sae.WDec, 0f, gValues);
        be.AggregateByLatent(codes, codes.Values, grad, zeroD, true, gWDec, unusedSum, counts);
        be.AggregateByLatent(codes, gValues, x, sae.BDec, true, gWEnc, gBEnc, counts);
        be.Download(sse, sseHost);
        double aux = 0;
        foreach (float s in sseHost) aux += s;
        return aux / variance;
    }

    // Σ‖e − ē‖² = Σ‖e‖² − B‖ē‖², with Σ_b e from DecoderBiasGrad against a zero b_enc gradient (a plain column sum).
    private double ResidualVariance(double mainSse, Tensor<float> wEnc)
    {
        be.DecoderBiasGrad(residual, zeroF, wEnc, colSum);
        be.Download(colSum, colSumHost);
        double meanSq = 0;
        foreach (float c in colSumHost) meanSq += (double)c / b * c / b;
        return mainSse - b * meanSq;
    }

    /// <summary>Frees the scratch tensors.</summary>
    public void Dispose()
    {
        codes.Dispose();
        foreach (var t in new[] { residual, prediction, grad, sse, gValues, colSum, zeroD, zeroF, unusedSum }) t.Dispose();
        mask.Dispose();
        counts.Dispose();
    }
}
