namespace SaeGpu.Kernels;

/// <summary>
/// Scales each row to unit ℓ2 norm: <c>w[j, :] ← w[j, :] / ‖w[j, :]‖</c> (zero rows stay zero). Shape: w [F, d].
/// </summary>
public static partial class NormalizeRows
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

    /// <summary>Fast CPU path: rows in parallel, Vector256 dot product and scale.</summary>
    public static void Cpu(int d, Span<float> w)
    {
        unsafe
        {
            fixed (float* pw = w)
            {
                float* p = pw;
                Simd.ParallelChunks(w.Length / d, (lo, hi) =>
                {
                    for (int j = lo; j < hi; j++)
                    {
                        var row = new Span<float>(p + (long)j * d, d);
                        float nn = Simd.Dot(row, row);
                        if (nn != 0) Simd.Scale(1 / MathF.Sqrt(nn), row);
                    }
                }, 64);
            }
        }
    }
}
