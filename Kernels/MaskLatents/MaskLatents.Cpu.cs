namespace SaeGpu.Kernels;

internal static partial class MaskLatents
{
    /// <summary>Fast CPU path: rows in parallel, copying only masked columns.</summary>
    public static void Cpu(ReadOnlySpan<float> pre, ReadOnlySpan<int> mask, Span<float> output)
    {
        int f = mask.Length;
        unsafe
        {
            fixed (float* pp = pre) fixed (int* pm = mask) fixed (float* po = output)
            {
                float* p = pp, o = po;
                int* m = pm;
                Simd.ParallelChunks(pre.Length / f, (lo, hi) =>
                {
                    for (int r = lo; r < hi; r++)
                    {
                        long row = (long)r * f;
                        for (int j = 0; j < f; j++) o[row + j] = m[j] != 0 ? p[row + j] : 0f;
                    }
                }, 16);
            }
        }
    }
}
