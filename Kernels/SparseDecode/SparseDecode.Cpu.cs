namespace SaeGpu.Kernels;

public static partial class SparseDecode
{
    /// <summary>
    /// Fast CPU path: rows in parallel, one Vector256 axpy per active latent; the row of W two entries ahead is prefetched
    /// while one is summed (the rows are gathered from memory, W being larger than the caches).
    /// </summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> output)
    {
        int d = bias.Length, b = offsets.Length - 1;
        unsafe
        {
            fixed (int* po = offsets) fixed (int* pi = indices) fixed (float* pv = values) fixed (float* pw = w)
            fixed (float* pb = bias) fixed (float* pout = output)
            {
                var job = new Job(po, pi, pv, pw, pb, pout, d);
                Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) job.Row(r); }, 8);
            }
        }
    }

    internal readonly unsafe struct Job(int* offsets, int* indices, float* values, float* w, float* bias, float* output, int d)
    {
        public void Row(int r)
        {
            var o = new Span<float>(output + (long)r * d, d);
            new ReadOnlySpan<float>(bias, d).CopyTo(o);
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
            {
                if (p + 2 < offsets[r + 1]) Simd.Prefetch(w + (long)indices[p + 2] * d, d);
                Simd.Axpy(values[p], new ReadOnlySpan<float>(w + (long)indices[p] * d, d), o);
            }
        }
    }
}
