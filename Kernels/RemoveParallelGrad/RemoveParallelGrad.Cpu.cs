namespace SaeGpu.Kernels;

internal static partial class RemoveParallelGrad
{
    /// <summary>Fast CPU path: rows in parallel, Vector256 dot products and axpy.</summary>
    public static void Cpu(ReadOnlySpan<float> w, int d, bool parallelOnly, Span<float> g)
    {
        unsafe
        {
            fixed (float* pw = w) fixed (float* pg = g)
            {
                var job = new Job(pw, pg, d, parallelOnly);
                Simd.ParallelChunks(w.Length / d, (lo, hi) => { for (int j = lo; j < hi; j++) job.Row(j); }, 64);
            }
        }
    }

    private readonly unsafe struct Job(float* w, float* g, int d, bool parallelOnly)
    {
        public void Row(int j)
        {
            var wr = new ReadOnlySpan<float>(w + (long)j * d, d);
            var gr = new Span<float>(g + (long)j * d, d);
            float nn = Simd.Dot(wr, wr), c = nn == 0 ? 0 : Simd.Dot(gr, wr) / nn;
            if (parallelOnly)
            {
                gr.Clear();
                Simd.Axpy(c, wr, gr);
            }
            else if (c != 0) Simd.Axpy(-c, wr, gr);
        }
    }
}
