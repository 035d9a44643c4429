using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class ScaleColumns
{
    /// <summary>Fast CPU path: rows in parallel, Vector256 over the columns.</summary>
    public static unsafe void Cpu(ReadOnlySpan<float> input, ReadOnlySpan<float> scale, ReadOnlySpan<float> center, Span<float> output)
    {
        int f = scale.Length, b = input.Length / f;
        fixed (float* pi = input) fixed (float* ps = scale) fixed (float* pc = center) fixed (float* po = output)
        {
            float* x = pi, s = ps, c = pc, o = po;
            Simd.ParallelChunks(b, (lo, hi) =>
            {
                for (int r = lo; r < hi; r++)
                {
                    float* row = x + (long)r * f, dst = o + (long)r * f;
                    int j = 0;
                    for (; j <= f - 8; j += 8)
                        Vector256.Store(Vector256.Load(s + j) * (Vector256.Load(row + j) - Vector256.Load(c + j)), dst + j);
                    for (; j < f; j++) dst[j] = s[j] * (row[j] - c[j]);
                }
            }, Math.Max(1, (1 << 14) / f));
        }
    }
}
