namespace SaeGpu.Kernels;

/// <summary>
/// Error and its gradient: <c>grad[b, i] = scale · (xhat[b, i] − x[b, i])</c> and <c>sse[b] = Σ_i (xhat[b, i] − x[b, i])²</c>.
/// With scale = 2 / (B·d) grad is ∂MSE/∂xhat for MSE = Σ sse / (B·d). Shapes: x, xhat, grad [B, d]; sse [B].
/// </summary>
internal static partial class ReconstructionError
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, float scale, Span<float> grad, Span<float> sse)
    {
        int b = sse.Length, d = x.Length / b;
        for (int r = 0; r < b; r++)
        {
            double s = 0;
            for (int i = 0; i < d; i++)
            {
                double e = (double)xhat[r * d + i] - x[r * d + i];
                grad[r * d + i] = (float)(scale * e);
                s += e * e;
            }
            sse[r] = (float)s;
        }
    }
}
