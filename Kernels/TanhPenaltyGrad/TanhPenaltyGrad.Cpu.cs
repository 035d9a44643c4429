namespace SaeGpu.Kernels;

internal static partial class TanhPenaltyGrad
{
    /// <summary>Fast CPU path: the stored entries in parallel chunks, one <see cref="Sech2"/> per entry.</summary>
    public static unsafe void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, float weight, float scale, Span<float> gValues)
    {
        fixed (float* pv = values) fixed (float* pg = gValues)
        {
            float* v = pv, g = pg;
            float wc = weight * scale;
            Simd.ParallelChunks(offsets[^1], (lo, hi) =>
            {
                for (int e = lo; e < hi; e++) g[e] += wc * Sech2(scale * v[e]);
            }, 1 << 14);
        }
    }
}
