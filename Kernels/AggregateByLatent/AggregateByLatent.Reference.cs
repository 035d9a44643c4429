namespace SaeGpu.Kernels;

/// <summary>
/// Reverse-index aggregation, the one op behind both sparse weight gradients. For each latent j, over the entries p
/// of the CSR codes with indices[p] = j (row b):
/// <c>gW[j, i] = Σ_p g[p] · (v[b, i] − center[i])</c>, <c>gSum[j] = Σ_p g[p]</c>, <c>counts[j] = #p</c>.
/// Decoder: g = code values, v = ∂L/∂xhat, center = 0. Encoder: g = value grads, v = x, center = b_dec.
/// Shapes: g [nnz], v [B, d], center [d], gW [F, d], gSum [F], counts [F]. Latents with no entries get zeros.
/// With accumulate, gW and gSum are added to instead of overwritten (a second loss term, e.g. AuxK); counts are always
/// this call's.
/// </summary>
internal static partial class AggregateByLatent
{
    /// <summary>Scalar oracle with float64 accumulation (direct scatter, the definition).</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> g,
        ReadOnlySpan<float> v, ReadOnlySpan<float> center, bool accumulate, Span<float> gW, Span<float> gSum, Span<int> counts)
    {
        int d = center.Length, f = gSum.Length, b = offsets.Length - 1;
        var acc = new double[f * d];
        var sums = new double[f];
        counts.Clear();
        for (int r = 0; r < b; r++)
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
            {
                int j = indices[p];
                counts[j]++;
                sums[j] += g[p];
                for (int i = 0; i < d; i++) acc[j * d + i] += (double)g[p] * ((double)v[r * d + i] - center[i]);
            }
        for (int e = 0; e < f * d; e++) gW[e] = (float)(acc[e] + (accumulate ? gW[e] : 0));
        for (int j = 0; j < f; j++) gSum[j] = (float)(sums[j] + (accumulate ? gSum[j] : 0));
    }
}
