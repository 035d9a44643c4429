using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class Adam
{
    /// <summary>Fast CPU path: chunks of whole vectors in parallel, Vector256 arithmetic with a scalar tail.</summary>
    public static void Cpu(ReadOnlySpan<float> grad, Step s, Span<float> param, Span<float> m, Span<float> v)
    {
        unsafe
        {
            fixed (float* pg = grad) fixed (float* pp = param) fixed (float* pm = m) fixed (float* pv = v)
            {
                var job = new Job(pg, pp, pm, pv, s);
                Simd.ParallelVectorChunks(param.Length, job.Range, 4096);
            }
        }
    }

    private readonly unsafe struct Job(float* g, float* p, float* m, float* v, Step s)
    {
        public void Range(int lo, int hi)
        {
            var b1 = Vector256.Create(s.Beta1); var c1 = Vector256.Create(1 - s.Beta1);
            var b2 = Vector256.Create(s.Beta2); var c2 = Vector256.Create(1 - s.Beta2);
            var step = Vector256.Create(s.Lr / s.Bc1); var ibc2 = Vector256.Create(1 / s.Bc2); var eps = Vector256.Create(s.Eps);
            int e = lo;
            for (; e <= hi - 8; e += 8)
            {
                var gv = Vector256.Load(g + e);
                var mv = b1 * Vector256.Load(m + e) + c1 * gv;
                var vv = b2 * Vector256.Load(v + e) + c2 * gv * gv;
                mv.Store(m + e);
                vv.Store(v + e);
                (Vector256.Load(p + e) - step * mv / (Vector256.Sqrt(vv * ibc2) + eps)).Store(p + e);
            }
            for (; e < hi; e++)
            {
                float gs = g[e];
                m[e] = s.Beta1 * m[e] + (1 - s.Beta1) * gs;
                v[e] = s.Beta2 * v[e] + (1 - s.Beta2) * gs * gs;
                p[e] -= s.Lr / s.Bc1 * m[e] / (MathF.Sqrt(v[e] / s.Bc2) + s.Eps);
            }
        }
    }
}
