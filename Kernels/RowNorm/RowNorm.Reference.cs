namespace SaeGpu.Kernels;

/// <summary>
/// Centered row norms: <c>norms[b] = ‖x[b, :] − center‖</c>. Shapes: x [B, d], center [d], norms [B].
/// top-AFA's per-token target is ‖x − b_dec‖.
/// </summary>
internal static partial class RowNorm
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> x, ReadOnlySpan<float> center, Span<float> norms)
    {
        int d = center.Length;
        for (int r = 0; r < norms.Length; r++)
        {
            double s = 0;
            for (int i = 0; i < d; i++) { double c = (double)x[r * d + i] - center[i]; s += c * c; }
            norms[r] = (float)Math.Sqrt(s);
        }
    }
}
