namespace SaeGpu.Kernels;

/// <summary>
/// Encode fused with TopK selection: codes = TopK_k(pre restricted to the eligible latents), with
/// <c>pre[b, j] = Σ_i (x[b, i] − b_dec[i]) · W_enc[j, i] + b_enc[j]</c> as in <see cref="Encode"/>, eligible latents
/// mask[j] ≠ 0 (all of them when the mask is empty; an ineligible latent counts as pre = 0, as after <see cref="MaskLatents"/>),
/// and the selection rules, tie order, top-AFA targets and output layout of <see cref="TopK"/>. Shapes: x [B, d], b_dec [d],
/// W_enc [F, d], b_enc [F], mask [F] or empty, targetNorms [B] or empty; offsets [B+1], indices and values with capacity ≥ B·k.
/// The fast paths never hold pre [B, F]: the CPU path selects from cache-sized tiles as they are computed, the GPU path
/// (in <c>GpuBackend</c>) encodes chunks of latents and merges each chunk's selection with the candidates kept so far
/// (<see cref="TopK.GpuSelectV2"/> with merge ≠ 0).
/// </summary>
internal static partial class EncodeTopK
{
    /// <summary>Scalar oracle: <see cref="Encode.Reference"/>, then <see cref="MaskLatents.Reference"/>, then <see cref="TopK.Reference"/>.</summary>
    public static void Reference(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc,
        ReadOnlySpan<int> mask, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values)
    {
        int f = bEnc.Length;
        var pre = new float[x.Length / bDec.Length * f];
        Encode.Reference(x, bDec, wEnc, bEnc, pre);
        if (!mask.IsEmpty) MaskLatents.Reference(pre, mask, pre);
        TopK.Reference(pre, f, k, absolute, targetNorms, offsets, indices, values);
    }
}
