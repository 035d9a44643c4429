namespace SaeGpu.Kernels;

internal static partial class SparseDecodeGrad
{
    /// <summary>
    /// Fast CPU path, bit-identical to the CPU paths of <see cref="SparseDecode"/>, <see cref="ReconstructionError"/> and
    /// <see cref="ValueGrad"/> run one after another. When W fits one latent-range pass (<see cref="SparseDecode.CpuPasses"/>),
    /// rows in parallel, each running the three ops' rows back to back, so its rows of W are still in cache for the dot
    /// products; otherwise the decode's passes, the error rows, then the value gradient's passes (W's rows from the L3).
    /// </summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, float scale, float shift,
        Span<float> xhat, Span<float> grad, Span<float> sse, Span<float> gValues) =>
        Cpu(offsets, indices, values, w, bias, x, scale, shift, xhat, grad, sse, gValues,
            SparseDecode.CpuPasses(offsets, w.Length / Math.Max(1, bias.Length), bias.Length));

    /// <summary>The fast CPU path in a given number of latent-range passes (1: one fused pass per row).</summary>
    internal static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, float scale, float shift,
        Span<float> xhat, Span<float> grad, Span<float> sse, Span<float> gValues, int passes)
    {
        if (passes > 1)
        {
            SparseDecode.Cpu(offsets, indices, values, w, bias, xhat, passes);
            ReconstructionError.Cpu(x, xhat, scale, grad, sse);
            ValueGrad.Cpu(offsets, indices, grad, w, shift, gValues, passes);
            return;
        }
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
                LatentPasses.Run(po, b, w.Length / Math.Max(1, d), 1, (r, l0, l1, list) =>
                {
                    decode.Row(r, l0, l1, list);
                    error.Row(r);
                    valueGrad.Row(r, l0, l1, list);
                });
            }
        }
    }
}
