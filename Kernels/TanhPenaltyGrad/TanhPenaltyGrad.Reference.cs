namespace SaeGpu.Kernels;

/// <summary>
/// Adds the gradient of the tanh sparsity penalty <c>weight·Σ tanh(c·v)</c> (Anthropic's, as SAELens's
/// <c>jumprelu_sparsity_loss_mode = "tanh"</c>) to the value gradients of the stored entries of CSR codes:
/// <c>gValues[e] += weight·c·(1 − tanh²(c·values[e]))</c> for e &lt; offsets[B]; entries past offsets[B] are left alone.
/// Shapes: offsets [B+1], values and gValues [capacity].
/// </summary>
internal static partial class TanhPenaltyGrad
{
    /// <summary>Scalar oracle in float64.</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, float weight, float scale, Span<float> gValues)
    {
        for (int e = 0; e < offsets[^1]; e++)
        {
            double t = Math.Tanh((double)scale * values[e]);
            gValues[e] = (float)(gValues[e] + (double)weight * scale * (1 - t * t));
        }
    }

    /// <summary>1 − tanh²(u) = 4e^{−2|u|}/(1 + e^{−2|u|})² in float, stable for every u (shared by the CPU and GPU paths).</summary>
    public static float Sech2(float u)
    {
        float e = MathF.Exp(-2f * MathF.Abs(u)), s = 1f + e;
        return 4f * e / (s * s);
    }
}
