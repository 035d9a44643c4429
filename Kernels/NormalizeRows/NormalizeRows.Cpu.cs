using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class NormalizeRows
{
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
