namespace SaeGpu.Kernels;

/// <summary>
/// Straight-through gradient of JumpReLU thresholds (Rajamanoharan et al., arXiv 2407.14435) with the rectangle kernel
/// K(u) = 1[−½ &lt; u &lt; ½] of bandwidth ε. For a = pre·H(pre − θ) (kept only where pre &gt; 0 too) and the loss
/// L_rec + l0Weight·Σ_{b,j} H(pre − θ) + tanhWeight·Σ_{b,j} tanh(c·a):
/// <c>gθ[j] = Σ_b K((pre[b, j] − θ[j]) / ε) / ε · (−θ[j]·(⟨gOut[b], W_dec[j]⟩ + tanhWeight·c·(1 − tanh²(c·a[b, j]))) − l0Weight)</c>
/// — the step penalty's derivative through the Heaviside, the reconstruction's and the tanh penalty's through the jump
/// (SAELens's Step and JumpReLU backward). Only entries within ε/2 of their threshold contribute. Shapes: pre [B, F], θ [F],
/// gOut [B, d], W_dec [F, d], gθ [F].
/// </summary>
internal static partial class JumpReluThresholdGrad
{
    /// <summary>True when pre lies inside the kernel's window around θ.</summary>
    public static bool InBand(float pre, float theta, float eps) => Math.Abs(pre - theta) < 0.5f * eps;

    /// <summary>The code value a JumpReLU keeps for pre at threshold θ: pre when pre &gt; θ and pre &gt; 0, else 0.</summary>
    public static float Kept(float pre, float theta) => pre > theta && pre > 0 ? pre : 0f;

    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> pre, ReadOnlySpan<float> theta, ReadOnlySpan<float> gOut,
        ReadOnlySpan<float> wDec, float eps, float l0Weight, float tanhWeight, float tanhScale, Span<float> gTheta)
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
                if (tanhWeight != 0)
                {
                    double t = Math.Tanh((double)tanhScale * Kept(pre[r * f + j], theta[j]));
                    dot += (double)tanhWeight * tanhScale * (1 - t * t);
                }
                acc += (-theta[j] * dot - l0Weight) / eps;
            }
            gTheta[j] = (float)acc;
        }
    }
}
