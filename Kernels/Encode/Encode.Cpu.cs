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
    /// register blocks of Vector256 FMA dot products over d (<see cref="CpuGemm"/>).
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc,
        ReadOnlySpan<float> bEnc, Span<float> pre)
    {
        int d = bDec.Length, f = bEnc.Length, b = x.Length / d;
        float[] xc = RentCentered(x, bDec);
        try
        {
            unsafe
            {
                fixed (float* pw = wEnc) fixed (float* pb = bEnc) fixed (float* pp = pre) fixed (float* px = xc)
                {
                    var gemm = new CpuGemm(px, pw, pb, d, null);
                    float* output = pp;
                    int tilesB = (b + CpuTile - 1) / CpuTile, tilesF = (f + CpuTile - 1) / CpuTile;
                    Parallel.For(0, tilesB * tilesF, t =>
                    {
                        int r0 = t / tilesF * CpuTile, j0 = t % tilesF * CpuTile;
                        gemm.Tile(r0, Math.Min(b, r0 + CpuTile), j0, Math.Min(f, j0 + CpuTile), output + (long)r0 * f + j0, f);
                    });
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(xc); }
    }

    /// <summary>x − b_dec [B, d] in a buffer rented from the shared pool (the caller returns it).</summary>
    internal static float[] RentCentered(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec)
    {
        int d = bDec.Length, b = x.Length / d;
        float[] xc = ArrayPool<float>.Shared.Rent(x.Length);
        for (int r = 0; r < b; r++)
            for (int i = 0; i < d; i++) xc[r * d + i] = x[r * d + i] - bDec[i];
        return xc;
    }
}

/// <summary>
/// The CPU encode engine shared by <see cref="Encode.Cpu"/> and <see cref="EncodeTopK.Cpu"/>: pre[r, j] = Σ_i xc[r, i]·W[j, i]
/// + bias[j] over centered rows xc [B, d], for the latents j = latents[c] (or j = c when <paramref name="latents"/> is null).
/// Every element is computed by the same arithmetic — an 8-lane FMA chain over d, its lane sum, then the scalar tail —
/// wherever it falls in a tile, so tiles, edges, latent subsets and <see cref="Pre"/> agree bit for bit.
/// </summary>
internal readonly unsafe struct CpuGemm(float* xc, float* w, float* bias, int d, int* latents)
{
    private int Latent(int c) => latents == null ? c : latents[c];

    /// <summary>output[(r − r0)·stride + c − c0] = pre[r, Latent(c)] for rows [r0, r1) and latent slots [c0, c1).</summary>
    public void Tile(int r0, int r1, int c0, int c1, float* output, long stride)
    {
        for (int r = r0; r < r1; r += 4)
            for (int c = c0; c < c1; c += 4)
                Block(r, Math.Min(4, r1 - r), c, Math.Min(4, c1 - c), output + (r - r0) * stride + (c - c0), stride);
    }

    /// <summary>One element, pre[r, j], by the tiles' arithmetic.</summary>
    public float Pre(int r, int j)
    {
        float* xr = xc + (long)r * d, wj = w + (long)j * d;
        Vector256<float> s = default;
        int i = 0;
        for (; i <= d - 8; i += 8) s = Vector256.FusedMultiplyAdd(Vector256.Load(xr + i), Vector256.Load(wj + i), s);
        return Element(s, xr, j, i);
    }

    // A 4×4 register block; rows or latents past an edge repeat the last valid one and are not stored.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block(int r, int nr, int c, int nc, float* o, long stride)
    {
        float* x0 = xc + (long)r * d, x1 = x0 + Math.Min(1, nr - 1) * d, x2 = x0 + Math.Min(2, nr - 1) * d, x3 = x0 + Math.Min(3, nr - 1) * d;
        var j = new Latents4(Latent(c), Latent(c + Math.Min(1, nc - 1)), Latent(c + Math.Min(2, nc - 1)), Latent(c + Math.Min(3, nc - 1)));
        float* w0 = w + (long)j.J0 * d, w1 = w + (long)j.J1 * d, w2 = w + (long)j.J2 * d, w3 = w + (long)j.J3 * d;
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
        StoreRow(o, nc, x0, j, i, c00, c01, c02, c03);
        if (nr > 1) StoreRow(o + stride, nc, x1, j, i, c10, c11, c12, c13);
        if (nr > 2) StoreRow(o + 2 * stride, nc, x2, j, i, c20, c21, c22, c23);
        if (nr > 3) StoreRow(o + 3 * stride, nc, x3, j, i, c30, c31, c32, c33);
    }

    private readonly record struct Latents4(int J0, int J1, int J2, int J3);

    private void StoreRow(float* o, int nc, float* xr, Latents4 j, int tail, Vector256<float> s0, Vector256<float> s1,
        Vector256<float> s2, Vector256<float> s3)
    {
        o[0] = Element(s0, xr, j.J0, tail);
        if (nc > 1) o[1] = Element(s1, xr, j.J1, tail);
        if (nc > 2) o[2] = Element(s2, xr, j.J2, tail);
        if (nc > 3) o[3] = Element(s3, xr, j.J3, tail);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float Element(Vector256<float> s, float* xr, int j, int tail)
    {
        float* wj = w + (long)j * d;
        float t = 0;
        for (int i = tail; i < d; i++) t += xr[i] * wj[i];
        return bias[j] + Vector256.Sum(s) + t;
    }
}
