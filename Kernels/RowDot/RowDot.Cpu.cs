namespace SaeGpu.Kernels;

internal static partial class RowDot
{
    /// <summary>Fast CPU path: rows in parallel, each a Vector256 dot product (<see cref="Simd.Dot"/>).</summary>
    public static unsafe void Cpu(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output)
    {
        int n = output.Length, d = a.Length / n;
        fixed (float* pa = a) fixed (float* pb = b) fixed (float* po = output)
        {
            float* x = pa, y = pb, o = po;
            Simd.ParallelChunks(n, (lo, hi) =>
            {
                for (int j = lo; j < hi; j++) o[j] = Simd.Dot(new ReadOnlySpan<float>(x + (long)j * d, d), new ReadOnlySpan<float>(y + (long)j * d, d));
            }, Math.Max(1, (1 << 14) / Math.Max(1, d)));
        }
    }
}
