namespace SaeGpu.Kernels;

/// <summary>
/// Removes from each decoder-row gradient its component along the row:
/// <c>g[j, :] ← g[j, :] − (⟨g[j, :], w[j, :]⟩ / ‖w[j, :]‖²) · w[j, :]</c> (rows with w = 0 are left alone).
/// Keeps a unit-norm decoder on its sphere to first order. Shapes: w, g [F, d].
/// </summary>
public static partial class RemoveParallelGrad
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> w, int d, Span<float> g)
    {
        for (int j = 0; j < w.Length / d; j++)
        {
            double dot = 0, nn = 0;
            for (int i = 0; i < d; i++) { dot += (double)g[j * d + i] * w[j * d + i]; nn += (double)w[j * d + i] * w[j * d + i]; }
            if (nn == 0) continue;
            for (int i = 0; i < d; i++) g[j * d + i] = (float)(g[j * d + i] - dot / nn * w[j * d + i]);
        }
    }

    /// <summary>Fast CPU path: rows in parallel, Vector256 dot products and axpy.</summary>
    public static void Cpu(ReadOnlySpan<float> w, int d, Span<float> g)
    {
        unsafe
        {
            fixed (float* pw = w) fixed (float* pg = g)
            {
                var job = new Job(pw, pg, d);
                Simd.ParallelChunks(w.Length / d, (lo, hi) => { for (int j = lo; j < hi; j++) job.Row(j); }, 64);
            }
        }
    }

    private readonly unsafe struct Job(float* w, float* g, int d)
    {
        public void Row(int j)
        {
            var wr = new ReadOnlySpan<float>(w + (long)j * d, d);
            var gr = new Span<float>(g + (long)j * d, d);
            float nn = Simd.Dot(wr, wr);
            if (nn != 0) Simd.Axpy(-Simd.Dot(gr, wr) / nn, wr, gr);
        }
    }
}
