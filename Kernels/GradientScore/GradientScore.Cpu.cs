using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class GradientScore
{
    /// <summary>Fast CPU path: Vector256 over contiguous chunks in parallel.</summary>
    public static unsafe void Cpu(ReadOnlySpan<float> pre, ReadOnlySpan<float> proj, float beta, Span<float> score)
    {
        fixed (float* pp = pre) fixed (float* pj = proj) fixed (float* ps = score)
        {
            var job = new Job(pp, pj, ps, beta);
            Simd.ParallelChunks(pre.Length, job.Run, 1 << 14);
        }
    }

    private readonly unsafe struct Job(float* pre, float* proj, float* score, float beta)
    {
        public void Run(int lo, int hi)
        {
            var vb = Vector256.Create(beta);
            int q = lo;
            for (; q <= hi - 8; q += 8)
            {
                var z = Vector256.Max(Vector256.Load(pre + q), Vector256<float>.Zero);
                Vector256.Store(z * (Vector256<float>.One + vb * Vector256.Abs(Vector256.Load(proj + q))), score + q);
            }
            for (; q < hi; q++) score[q] = Math.Max(pre[q], 0f) * (1f + beta * Math.Abs(proj[q]));
        }
    }
}
