namespace SaeGpu.Kernels;

/// <summary>
/// Encoder pre-activations: <c>pre[b, j] = Σ_i (x[b, i] − b_dec[i]) · W_enc[j, i] + b_enc[j]</c>.
/// Shapes: x [B, d], b_dec [d], W_enc [F, d], b_enc [F], pre [B, F]; all row-major.
/// </summary>
internal static partial class Encode
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc,
        ReadOnlySpan<float> bEnc, Span<float> pre)
    {
        int d = bDec.Length, f = bEnc.Length, b = x.Length / d;
        for (int r = 0; r < b; r++)
            for (int j = 0; j < f; j++)
            {
                double acc = bEnc[j];
                for (int i = 0; i < d; i++) acc += ((double)x[r * d + i] - bDec[i]) * wEnc[j * d + i];
                pre[r * f + j] = (float)acc;
            }
    }
}
