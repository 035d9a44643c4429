namespace SaeGpu.Kernels;

internal static partial class AfaLossGrad
{
    /// <summary>Fast CPU path: rows in parallel.</summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, ReadOnlySpan<float> targets, float coefficient,
        Span<float> gValues)
    {
        int b = targets.Length;
        unsafe
        {
            fixed (int* po = offsets) fixed (float* pv = values) fixed (float* pt = targets) fixed (float* pg = gValues)
            {
                int* o = po;
                float* v = pv, t = pt, g = pg;
                Simd.ParallelChunks(b, (lo, hi) =>
                {
                    for (int r = lo; r < hi; r++)
                    {
                        var row = new ReadOnlySpan<float>(v + o[r], o[r + 1] - o[r]);
                        float nn = Simd.Dot(row, row);
                        if (nn == 0) continue;
                        float norm = MathF.Sqrt(nn);
                        Simd.Axpy(coefficient * 2f / b * (norm - t[r]) / norm, row, new Span<float>(g + o[r], row.Length));
                    }
                }, 64);
            }
        }
    }
}
