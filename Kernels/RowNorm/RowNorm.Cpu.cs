namespace SaeGpu.Kernels;

internal static partial class RowNorm
{
    /// <summary>Fast CPU path: rows in parallel.</summary>
    public static void Cpu(ReadOnlySpan<float> x, ReadOnlySpan<float> center, Span<float> norms)
    {
        int d = center.Length;
        unsafe
        {
            fixed (float* px = x) fixed (float* pc = center) fixed (float* pn = norms)
            {
                float* xs = px, cs = pc, ns = pn;
                Simd.ParallelChunks(norms.Length, (lo, hi) =>
                {
                    for (int r = lo; r < hi; r++)
                    {
                        float s = 0;
                        for (int i = 0; i < d; i++) { float c = xs[(long)r * d + i] - cs[i]; s += c * c; }
                        ns[r] = MathF.Sqrt(s);
                    }
                }, 16);
            }
        }
    }
}
