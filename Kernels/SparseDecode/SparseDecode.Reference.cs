namespace SaeGpu.Kernels;

/// <summary>
/// Sparse decode: <c>out[b, :] = bias + Σ_{p ∈ row b} values[p] · W[indices[p], :]</c>.
/// Shapes: CSR codes (offsets [B+1], indices/values [nnz]), W [F, d], bias [d], out [B, d].
/// </summary>
internal static partial class SparseDecode
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> output)
    {
        int d = bias.Length, b = offsets.Length - 1;
        for (int r = 0; r < b; r++)
            for (int i = 0; i < d; i++)
            {
                double acc = bias[i];
                for (int p = offsets[r]; p < offsets[r + 1]; p++) acc += (double)values[p] * w[indices[p] * d + i];
                output[r * d + i] = (float)acc;
            }
    }
}
