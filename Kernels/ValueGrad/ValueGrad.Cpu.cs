namespace SaeGpu.Kernels;

public static partial class ValueGrad
{
    /// <summary>Fast CPU path: rows in parallel, one Vector256 dot product per entry.</summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> gOut,
        ReadOnlySpan<float> w, float shift, Span<float> gValues)
    {
        int b = offsets.Length - 1, d = gOut.Length / b;
        unsafe
        {
            fixed (int* po = offsets) fixed (int* pi = indices) fixed (float* pg = gOut) fixed (float* pw = w)
            fixed (float* pv = gValues)
            {
                var job = new Job(po, pi, pg, pw, pv, d, shift);
                Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) job.Row(r); }, 8);
            }
        }
    }

    internal readonly unsafe struct Job(int* offsets, int* indices, float* gOut, float* w, float* gValues, int d, float shift)
    {
        public void Row(int r)
        {
            var g = new ReadOnlySpan<float>(gOut + (long)r * d, d);
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
                gValues[p] = Simd.Dot(g, new ReadOnlySpan<float>(w + (long)indices[p] * d, d)) + shift;
        }
    }
}
