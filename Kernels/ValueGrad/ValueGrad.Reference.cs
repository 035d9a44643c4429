namespace SaeGpu.Kernels;

/// <summary>
/// Gradient of each stored code value: <c>gValues[p] = Σ_i gOut[b, i] · W[indices[p], i] + shift</c> for entry p of row b
/// (shift = ∂/∂a of a linear penalty shift·Σ a, e.g. the L1 term λ/B · Σ a_j ‖d_j‖ with unit-norm decoder rows).
/// Shapes: CSR codes [B+1]/[nnz], gOut [B, d], W [F, d], gValues [nnz]. No dense [B, F] gradient is formed.
/// </summary>
internal static partial class ValueGrad
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> gOut,
        ReadOnlySpan<float> w, float shift, Span<float> gValues)
    {
        int b = offsets.Length - 1, d = gOut.Length / b;
        for (int r = 0; r < b; r++)
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
            {
                double acc = shift;
                for (int i = 0; i < d; i++) acc += (double)gOut[r * d + i] * w[indices[p] * d + i];
                gValues[p] = (float)acc;
            }
    }
}
