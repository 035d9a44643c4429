using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

public static partial class Encode
{
    /// <summary>Rows of x (and of W_enc) per cache tile of the CPU path.</summary>
    public const int CpuTile = 64;

    /// <summary>
    /// Fast CPU path: centers x into a pooled buffer, then computes 64×64 output tiles in parallel, each from 4×4
    /// register blocks of Vector256 FMA dot products over d.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc,
        ReadOnlySpan<float> bEnc, Span<float> pre)
    {
        int d = bDec.Length, f = bEnc.Length, b = x.Length / d;
        float[] xc = ArrayPool<float>.Shared.Rent(b * d);
        try
        {
            for (int r = 0; r < b; r++)
                for (int i = 0; i < d; i++) xc[r * d + i] = x[r * d + i] - bDec[i];
            unsafe
            {
                fixed (float* pw = wEnc) fixed (float* pb = bEnc) fixed (float* pp = pre) fixed (float* px = xc)
                {
                    var jobPtr = new JobPtr(px, pw, pb, pp, b, d, f);
                    int tilesB = (b + CpuTile - 1) / CpuTile, tilesF = (f + CpuTile - 1) / CpuTile;
                    Parallel.For(0, tilesB * tilesF, t => jobPtr.Tile(t / tilesF * CpuTile, t % tilesF * CpuTile));
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(xc); }
    }

    private readonly unsafe struct JobPtr(float* xc, float* w, float* bias, float* pre, int rows, int d, int f)
    {
        public void Tile(int r0, int j0)
        {
            int r1 = Math.Min(rows, r0 + CpuTile), j1 = Math.Min(f, j0 + CpuTile);
            for (int r = r0; r < r1; r += 4)
                for (int j = j0; j < j1; j += 4)
                    Block(r, Math.Min(4, r1 - r), j, Math.Min(4, j1 - j));
        }

        private void Block(int r, int nr, int j, int nj)
        {
            if (nr == 4 && nj == 4) { Block4x4(r, j); return; }
            for (int a = 0; a < nr; a++)
                for (int c = 0; c < nj; c++)
                    pre[(long)(r + a) * f + j + c] = bias[j + c] + Simd.Dot(new ReadOnlySpan<float>(xc + (long)(r + a) * d, d),
                        new ReadOnlySpan<float>(w + (long)(j + c) * d, d));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Block4x4(int r, int j)
        {
            float* x0 = xc + (long)r * d, x1 = x0 + d, x2 = x1 + d, x3 = x2 + d;
            float* w0 = w + (long)j * d, w1 = w0 + d, w2 = w1 + d, w3 = w2 + d;
            Vector256<float> c00 = default, c01 = default, c02 = default, c03 = default;
            Vector256<float> c10 = default, c11 = default, c12 = default, c13 = default;
            Vector256<float> c20 = default, c21 = default, c22 = default, c23 = default;
            Vector256<float> c30 = default, c31 = default, c32 = default, c33 = default;
            int i = 0;
            for (; i <= d - 8; i += 8)
            {
                var b0 = Vector256.Load(w0 + i); var b1 = Vector256.Load(w1 + i);
                var b2 = Vector256.Load(w2 + i); var b3 = Vector256.Load(w3 + i);
                var a = Vector256.Load(x0 + i);
                c00 = Vector256.FusedMultiplyAdd(a, b0, c00); c01 = Vector256.FusedMultiplyAdd(a, b1, c01);
                c02 = Vector256.FusedMultiplyAdd(a, b2, c02); c03 = Vector256.FusedMultiplyAdd(a, b3, c03);
                a = Vector256.Load(x1 + i);
                c10 = Vector256.FusedMultiplyAdd(a, b0, c10); c11 = Vector256.FusedMultiplyAdd(a, b1, c11);
                c12 = Vector256.FusedMultiplyAdd(a, b2, c12); c13 = Vector256.FusedMultiplyAdd(a, b3, c13);
                a = Vector256.Load(x2 + i);
                c20 = Vector256.FusedMultiplyAdd(a, b0, c20); c21 = Vector256.FusedMultiplyAdd(a, b1, c21);
                c22 = Vector256.FusedMultiplyAdd(a, b2, c22); c23 = Vector256.FusedMultiplyAdd(a, b3, c23);
                a = Vector256.Load(x3 + i);
                c30 = Vector256.FusedMultiplyAdd(a, b0, c30); c31 = Vector256.FusedMultiplyAdd(a, b1, c31);
                c32 = Vector256.FusedMultiplyAdd(a, b2, c32); c33 = Vector256.FusedMultiplyAdd(a, b3, c33);
            }
            Store(r + 0, j, x0, w0, i, c00, c01, c02, c03);
            Store(r + 1, j, x1, w0, i, c10, c11, c12, c13);
            Store(r + 2, j, x2, w0, i, c20, c21, c22, c23);
            Store(r + 3, j, x3, w0, i, c30, c31, c32, c33);
        }

        private void Store(int r, int j, float* xr, float* w0, int tail, Vector256<float> s0, Vector256<float> s1,
            Vector256<float> s2, Vector256<float> s3)
        {
            float* o = pre + (long)r * f + j;
            o[0] = bias[j] + Vector256.Sum(s0) + TailDot(xr, w0, tail);
            o[1] = bias[j + 1] + Vector256.Sum(s1) + TailDot(xr, w0 + d, tail);
            o[2] = bias[j + 2] + Vector256.Sum(s2) + TailDot(xr, w0 + 2 * d, tail);
            o[3] = bias[j + 3] + Vector256.Sum(s3) + TailDot(xr, w0 + 3 * d, tail);
        }

        private float TailDot(float* a, float* b, int from)
        {
            float s = 0;
            for (int i = from; i < d; i++) s += a[i] * b[i];
            return s;
        }
    }
}
