namespace SaeGpu.Kernels;

public static partial class SparseDecode
{
    /// <summary>
    /// Fast CPU path: rows in parallel; a row's active latents four at a time (<see cref="Simd.Axpy4"/>: the output row loaded
    /// and stored once per four rows of W, whose gathers from memory — W is larger than the caches — overlap), the rest one
    /// Vector256 axpy each. Bit-identical to one axpy per latent in order.
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
            float* o = output + (long)r * d;
            new ReadOnlySpan<float>(bias, d).CopyTo(new Span<float>(o, d));
            int p = offsets[r], end = offsets[r + 1];
            for (; p <= end - 4; p += 4)
                Simd.Axpy4(values[p], W(p), values[p + 1], W(p + 1), values[p + 2], W(p + 2), values[p + 3], W(p + 3), o, d);
            for (; p < end; p++) Simd.Axpy(values[p], new ReadOnlySpan<float>(W(p), d), new Span<float>(o, d));
        }

        private float* W(int p) => w + (long)indices[p] * d;
    }
}
