namespace SaeGpu.Kernels;

/// <summary>
/// Scales each row to unit ℓ2 norm: <c>w[j, :] ← w[j, :] / ‖w[j, :]‖</c> (zero rows stay zero). Shape: w [F, d].
/// </summary>
internal static partial class NormalizeRows
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(int d, Span<float> w)
    {
        for (int j = 0; j < w.Length / d; j++)
        {
            double nn = 0;
            for (int i = 0; i < d; i++) nn += (double)w[j * d + i] * w[j * d + i];
            if (nn == 0) continue;
            double inv = 1 / Math.Sqrt(nn);
            for (int i = 0; i < d; i++) w[j * d + i] = (float)(w[j * d + i] * inv);
        }
    }
}
