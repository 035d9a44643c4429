using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class Encode
{
    /// <summary>Output tile edge (rows of x and rows of W_enc) per thread group of <see cref="GpuV1"/>.</summary>
    public const int GpuTile = 64;
    /// <summary>Depth (along d) of each shared-memory stage of <see cref="GpuV1"/>.</summary>
    public const int GpuDepth = 16;

    /// <summary>Launch configuration of <see cref="GpuV1"/>: 16×16 threads per group, one group per 64×64 tile of pre.</summary>
    public static KernelConfig GpuConfig(int b, int f) =>
        new(new Index2D((f + GpuTile - 1) / GpuTile, (b + GpuTile - 1) / GpuTile), new Index2D(16, 16));

    /// <summary>
    /// Tiled GEMM with the centering fused into the x loads. Each of the 256 threads accumulates a 4×4 block
    /// (rows ty + 16·m, columns tx + 16·n of the group's tile) from 64×16 stages of x and W_enc in shared memory.
    /// </summary>
    public static void GpuV1(ArrayView<float> x, ArrayView<float> bDec, ArrayView<float> wEnc, ArrayView<float> bEnc,
        ArrayView<float> pre, int b, int d, int f)
    {
        var xs = SharedMemory.Allocate<float>(GpuTile * GpuDepth);
        var ws = SharedMemory.Allocate<float>(GpuTile * GpuDepth);
        int tx = Group.IdxX, ty = Group.IdxY, t = ty * 16 + tx;
        int row0 = Grid.IdxY * GpuTile, col0 = Grid.IdxX * GpuTile;
        var a0 = default(Acc4); var a1 = default(Acc4); var a2 = default(Acc4); var a3 = default(Acc4);
        for (int k0 = 0; k0 < d; k0 += GpuDepth)
        {
            for (int e = t; e < GpuTile * GpuDepth; e += 256)
            {
                int r = e / GpuDepth, kk = e % GpuDepth, k = k0 + kk;
                bool inK = k < d;
                xs[kk * GpuTile + r] = row0 + r < b && inK ? x[(long)(row0 + r) * d + k] - bDec[k] : 0f;
                ws[kk * GpuTile + r] = col0 + r < f && inK ? wEnc[(long)(col0 + r) * d + k] : 0f;
            }
            Group.Barrier();
            for (int kk = 0; kk < GpuDepth; kk++)
            {
                int o = kk * GpuTile;
                float w0 = ws[o + tx], w1 = ws[o + tx + 16], w2 = ws[o + tx + 32], w3 = ws[o + tx + 48];
                a0.Fma(xs[o + ty], w0, w1, w2, w3);
                a1.Fma(xs[o + ty + 16], w0, w1, w2, w3);
                a2.Fma(xs[o + ty + 32], w0, w1, w2, w3);
                a3.Fma(xs[o + ty + 48], w0, w1, w2, w3);
            }
            Group.Barrier();
        }
        a0.Store(pre, bEnc, row0 + ty, col0 + tx, b, f);
        a1.Store(pre, bEnc, row0 + ty + 16, col0 + tx, b, f);
        a2.Store(pre, bEnc, row0 + ty + 32, col0 + tx, b, f);
        a3.Store(pre, bEnc, row0 + ty + 48, col0 + tx, b, f);
    }

    /// <summary>Four accumulators of one output row (columns c, c+16, c+32, c+48), kept in registers.</summary>
    private struct Acc4
    {
        private float s0, s1, s2, s3;

        public void Fma(float a, float w0, float w1, float w2, float w3)
        {
            s0 += a * w0; s1 += a * w1; s2 += a * w2; s3 += a * w3;
        }

        public readonly void Store(ArrayView<float> pre, ArrayView<float> bEnc, int r, int c, int b, int f)
        {
            if (r >= b) return;
            long o = (long)r * f;
            if (c < f) pre[o + c] = s0 + bEnc[c];
            if (c + 16 < f) pre[o + c + 16] = s1 + bEnc[c + 16];
            if (c + 32 < f) pre[o + c + 32] = s2 + bEnc[c + 32];
            if (c + 48 < f) pre[o + c + 48] = s3 + bEnc[c + 48];
        }
    }
}
