namespace SaeGpu.Kernels;

/// <summary>
/// Gradient of the decoder bias, which enters both the output and the encoder's centering:
/// <c>gbDec[i] = Σ_b gOut[b, i] − Σ_j gbEnc[j] · W_enc[j, i]</c>
/// (the second term is Σ_b Σ_{p ∈ row b} gValues[p] · W_enc[indices[p], i], regrouped by latent through gbEnc).
/// Shapes: gOut [B, d], gbEnc [F], W_enc [F, d], gbDec [d].
/// </summary>
internal static partial class DecoderBiasGrad
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> gOut, ReadOnlySpan<float> gbEnc, ReadOnlySpan<float> wEnc, Span<float> gbDec)
    {
        int d = gbDec.Length, b = gOut.Length / d, f = gbEnc.Length;
        for (int i = 0; i < d; i++)
        {
            double acc = 0;
            for (int r = 0; r < b; r++) acc += gOut[r * d + i];
            for (int j = 0; j < f; j++) acc -= (double)gbEnc[j] * wEnc[j * d + i];
            gbDec[i] = (float)acc;
        }
    }
}
