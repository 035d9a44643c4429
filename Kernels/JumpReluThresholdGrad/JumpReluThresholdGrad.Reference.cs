namespace SaeGpu.Kernels;

/// <summary>
/// Straight-through gradient of JumpReLU thresholds (Rajamanoharan et al., arXiv 2407.14435) with the rectangle kernel
/// K(u) = 1[−½ &lt; u &lt; ½] of bandwidth ε. For a = pre·H(pre − θ) and the loss L_rec + l0Weight · Σ_{b,j} H(pre − θ):
/// <c>gθ[j] = Σ_b K((pre[b, j] − θ[j]) / ε) / ε · (−θ[j] · ⟨gOut[b], W_dec[j]⟩ − l0Weight)</c>.
/// Only entries within ε/2 of their threshold contribute. Shapes: pre [B, F], θ [F], gOut [B, d], W_dec [F, d], gθ [F].
/// </summary>
public static partial class JumpReluThresholdGrad
{
    /// <summary>True when pre lies inside the kernel's window around θ.</summary>
    public static bool InBand(float pre, float theta, float eps) => Math.Abs(pre - theta) < 0.5f * eps;

    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> pre, ReadOnlySpan<float> theta, ReadOnlySpan<float> gOut,
        ReadOnlySpan<float> wDec, float eps, float l0Weight, Span<float> gTheta)
    {
        int f = theta.Length, b = pre.Length / f, d = gOut.Length / b;
        for (int j = 0; j < f; j++)
        {
            double acc = 0;
            for (int r = 0; r < b; r++)
            {
                if (!InBand(pre[r * f + j], theta[j], eps)) continue;
                double dot = 0;
                for (int i = 0; i < d; i++) dot += (double)gOut[r * d + i] * wDec[j * d + i];
                acc += (-theta[j] * dot - l0Weight) / eps;
            }
            gTheta[j] = (float)acc;
        }
    }
}
