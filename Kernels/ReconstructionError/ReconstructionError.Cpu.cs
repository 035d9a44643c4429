namespace SaeGpu.Kernels;

internal static partial class ReconstructionError
{
    /// <summary>Fast CPU path: rows in parallel.</summary>
    public static void Cpu(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, float scale, Span<float> grad, Span<float> sse)
    {
        int b = sse.Length, d = x.Length / b;
        unsafe
        {
            fixed (float* px = x) fixed (float* ph = xhat) fixed (float* pg = grad) fixed (float* ps = sse)
            {
                var job = new Job(px, ph, pg, ps, scale, d);
                Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) job.Row(r); }, 16);
            }
        }
    }

    internal readonly unsafe struct Job(float* x, float* xhat, float* grad, float* sse, float scale, int d)
    {
        public void Row(int r)
        {
            long o = (long)r * d;
            float s = 0;
            for (int i = 0; i < d; i++)
            {
                float e = xhat[o + i] - x[o + i];
                grad[o + i] = scale * e;
                s += e * e;
            }
            sse[r] = s;
        }
    }
}
