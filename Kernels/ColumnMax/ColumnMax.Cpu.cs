using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class ColumnMax
{
    /// <summary>Fast CPU path: column blocks in parallel, Vector256 max down the rows.</summary>
    public static void Cpu(ReadOnlySpan<float> pre, Span<float> max)
    {
        int f = max.Length, b = pre.Length / f;
        unsafe
        {
            fixed (float* pp = pre) fixed (float* pm = max)
            {
                float* p = pp, m = pm;
                Simd.ParallelChunks(f, (lo, hi) =>
                {
                    for (int j = lo; j < hi; j++) m[j] = 0;
                    for (int r = 0; r < b; r++)
                    {
                        float* row = p + (long)r * f;
                        int j = lo;
                        for (; j <= hi - 8; j += 8)
                            Vector256.Max(Vector256.Load(m + j),
                                Vector256.Load(row + j)).Store(m + j);
                        for (; j < hi; j++) m[j] = Math.Max(m[j], row[j]);
                    }
                }, 64);
            }
        }
    }
}
