namespace SaeGpu.Kernels;

public static partial class ValueGrad
{
    /// <summary>Fast CPU path: rows in parallel; a row's entries four at a time (<see cref="Simd.Dot4"/>: each row of g loaded once for four rows of W), the rest one Vector256 dot product each.</summary>
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
            float* g = gOut + (long)r * d;
            float* s = stackalloc float[4];
            int p = offsets[r], end = offsets[r + 1];
            for (; p <= end - 4; p += 4)
            {
                Simd.Dot4(g, W(p), W(p + 1), W(p + 2), W(p + 3), d, s);
                for (int c = 0; c < 4; c++) gValues[p + c] = s[c] + shift;
            }
            for (; p < end; p++) gValues[p] = Simd.Dot(new ReadOnlySpan<float>(g, d), new ReadOnlySpan<float>(W(p), d)) + shift;
        }

        private float* W(int p) => w + (long)indices[p] * d;
    }
}
