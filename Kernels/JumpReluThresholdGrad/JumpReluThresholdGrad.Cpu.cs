namespace SaeGpu.Kernels;

internal static partial class JumpReluThresholdGrad
{
    /// <summary>Fast CPU path: column blocks in parallel scan the rows; in-band entries take a Vector256 dot product.</summary>
    public static void Cpu(ReadOnlySpan<float> pre, ReadOnlySpan<float> theta, ReadOnlySpan<float> gOut,
        ReadOnlySpan<float> wDec, float eps, float l0Weight, float tanhWeight, float tanhScale, Span<float> gTheta)
    {
        int f = theta.Length, b = pre.Length / f, d = gOut.Length / b;
        unsafe
        {
            fixed (float* pp = pre) fixed (float* pt = theta) fixed (float* pg = gOut) fixed (float* pw = wDec) fixed (float* po = gTheta)
            {
                float* p = pp, t = pt, g = pg, w = pw, o = po;
                Simd.ParallelChunks(f, (lo, hi) =>
                {
                    for (int j = lo; j < hi; j++) o[j] = 0;
                    for (int r = 0; r < b; r++)
                        for (int j = lo; j < hi; j++)
                        {
                            if (!InBand(p[(long)r * f + j], t[j], eps)) continue;
                            float dot = Simd.Dot(new ReadOnlySpan<float>(g + (long)r * d, d), new ReadOnlySpan<float>(w + (long)j * d, d));
                            if (tanhWeight != 0) dot += tanhWeight * tanhScale * TanhPenaltyGrad.Sech2(tanhScale * Kept(p[(long)r * f + j], t[j]));
                            o[j] += (-t[j] * dot - l0Weight) / eps;
                        }
                }, 64);
            }
        }
    }
}
