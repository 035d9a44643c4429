namespace SaeGpu.Kernels;

/// <summary>
/// g-SAE selection score (arXiv 2411.10397): <c>score[b, j] = z·(1 + β·|proj[b, j]|)</c> with <c>z = max(pre[b, j], 0)</c>
/// and proj = g·W_decᵀ the projection of the downstream gradient on each decoder row. TopK on the score then chooses the
/// latents. Shapes: pre, proj, score [B, F].
/// </summary>
internal static partial class GradientScore
{
    /// <summary>Scalar oracle (float64 product).</summary>
    public static void Reference(ReadOnlySpan<float> pre, ReadOnlySpan<float> proj, float beta, Span<float> score)
    {
        for (int q = 0; q < pre.Length; q++) score[q] = (float)(Math.Max(pre[q], 0.0) * (1.0 + beta * Math.Abs((double)proj[q])));
    }
}
