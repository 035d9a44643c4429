namespace SaeGpu.Kernels;

/// <summary>
/// Row-wise dot products of two matrices of the same shape: <c>output[j] = Σ_i a[j, i]·b[j, i]</c>. Shapes: a, b [n, d],
/// output [n]. Used by gated SAEs for ∂L/∂r_mag_j = ⟨W_gate[j], e^{r_j}·Σ_b ∂L/∂a_bj (x_b − b_dec)⟩.
/// </summary>
internal static partial class RowDot
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output)
    {
        int n = output.Length, d = a.Length / n;
        for (int j = 0; j < n; j++)
        {
            double s = 0;
            for (int i = 0; i < d; i++) s += (double)a[j * d + i] * b[j * d + i];
            output[j] = (float)s;
        }
    }
}
