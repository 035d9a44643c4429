namespace SaeGpu.Kernels;

/// <summary>
/// Adds the gradient of top-AFA's optional loss (arXiv 2503.24277) <c>coefficient · mean_b (‖a_b‖ − t_b)²</c> to the value
/// gradients: for entry p of row b, <c>gValues[p] += coefficient · 2/B · (‖a_b‖ − t_b) · a_p / ‖a_b‖</c> (rows with ‖a_b‖ = 0
/// are left alone). Shapes: CSR codes (offsets [B+1], values [nnz]), targets t [B], gValues [nnz].
/// </summary>
internal static partial class AfaLossGrad
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, ReadOnlySpan<float> targets, float coefficient,
        Span<float> gValues)
    {
        int b = targets.Length;
        for (int r = 0; r < b; r++)
        {
            double nn = 0;
            for (int p = offsets[r]; p < offsets[r + 1]; p++) nn += (double)values[p] * values[p];
            if (nn == 0) continue;
            double norm = Math.Sqrt(nn), c = coefficient * 2.0 / b * (norm - targets[r]) / norm;
            for (int p = offsets[r]; p < offsets[r + 1]; p++) gValues[p] = (float)(gValues[p] + c * values[p]);
        }
    }
}
