namespace SaeGpu.Kernels;

internal static partial class ScaleLatents
{
    /// <summary>Fast CPU path: the stored entries in parallel chunks (a gather per entry: its latent's scale and center).</summary>
    public static unsafe void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> scale, ReadOnlySpan<float> center,
        Span<float> values)
    {
        fixed (int* pi = indices) fixed (float* ps = scale) fixed (float* pc = center) fixed (float* pv = values)
        {
            int* idx = pi;
            float* s = ps, c = pc, v = pv;
            Simd.ParallelChunks(offsets[^1], (lo, hi) =>
            {
                for (int e = lo; e < hi; e++) v[e] = s[idx[e]] * (v[e] - c[idx[e]]);
            }, 1 << 14);
        }
    }
}
