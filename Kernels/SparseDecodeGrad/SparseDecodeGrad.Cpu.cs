namespace SaeGpu.Kernels;

public static partial class SparseDecodeGrad
{
    /// <summary>
    /// Fast CPU path: rows in parallel; each row runs the CPU rows of <see cref="SparseDecode"/>, <see cref="ReconstructionError"/>
    /// and <see cref="ValueGrad"/> back to back, so its rows of W are still in cache for the dot products (bit-identical to
    /// the three ops run one after another).
    /// </summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, float scale, float shift,
        Span<float> xhat, Span<float> grad, Span<float> sse, Span<float> gValues)
    {
        int d = bias.Length, b = offsets.Length - 1;
        unsafe
        {
            fixed (int* po = offsets) fixed (int* pi = indices) fixed (float* pv = values) fixed (float* pw = w)
            fixed (float* pb = bias) fixed (float* px = x) fixed (float* ph = xhat) fixed (float* pg = grad)
            fixed (float* ps = sse) fixed (float* pgv = gValues)
            {
                var decode = new SparseDecode.Job(po, pi, pv, pw, pb, ph, d);
                var error = new ReconstructionError.Job(px, ph, pg, ps, scale, d);
                var valueGrad = new ValueGrad.Job(po, pi, pg, pw, pgv, d, shift);
                Simd.ParallelChunks(b, (lo, hi) =>
                {
                    for (int r = lo; r < hi; r++)
                    {
                        decode.Row(r);
                        error.Row(r);
                        valueGrad.Row(r);
                    }
                }, 8);
            }
        }
    }
}
