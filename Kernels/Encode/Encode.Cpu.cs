using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SaeGpu.Kernels;

internal static partial class Encode
{
    /// <summary>Rows of x (and of W_enc) per cache tile of the CPU path.</summary>
    public const int CpuTile = 64;

    /// <summary>
    /// Fast CPU path: centers x into a pooled buffer, then computes 64×64 output tiles in parallel, each from 4×4
    /// register blocks of Vector256 FMA dot products over d, or 8×4 blocks of Vector512 FMAs with the same per-element
    /// arithmetic where the CPU has AVX-512 (<see cref="CpuGemm"/>).
    /// </summary>
    public static unsafe void Cpu(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc,
        ReadOnlySpan<float> bEnc, Span<float> pre)
    {
        int d = bDec.Length, f = bEnc.Length, b = x.Length / d;
        float[] xc = RentCentered(x, bDec);
        float* pairs = CpuGemm.AllocPairs(xc, b, d);
        try
        {
            unsafe
            {
                fixed (float* pw = wEnc) fixed (float* pb = bEnc) fixed (float* pp = pre) fixed (float* px = xc)
                {
                    var gemm = new CpuGemm(px, pw, pb, d, null, pairs);
                    float* output = pp;
                    int tilesB = (b + CpuTile - 1) / CpuTile, tilesF = (f + CpuTile - 1) / CpuTile;
                    Parallel.For(0, tilesB * tilesF, Simd.OnCores, t =>
                    {
                        int r0 = t / tilesF * CpuTile, j0 = t % tilesF * CpuTile;
                        gemm.Tile(r0, Math.Min(b, r0 + CpuTile), j0, Math.Min(f, j0 + CpuTile), output + (long)r0 * f + j0, f);
                    });
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xc);
            CpuGemm.FreePairs(pairs);
        }
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
/// wherever it falls in a tile and whichever block computes it (4×4 with Vector256, or 8×4 with Vector512 holding two
/// rows' chains per register when given row pairs), so tiles, edges, latent subsets, CPUs with and without AVX-512, and
/// <see cref="Pre"/> agree bit for bit.
/// </summary>
internal readonly unsafe struct CpuGemm(float* xc, float* w, float* bias, int d, int* latents, float* pairs = null)
{
    private int Latent(int c) => latents == null ? c : latents[c];

    /// <summary>Whether this CPU runs <see cref="Block8"/>: AVX-512 with 512-bit vectors accelerated.</summary>
    public static bool Wide { get; } = Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    /// <summary>
    /// Where <see cref="Wide"/>: the centered rows xc [B, d] again, as row pairs for <see cref="Block8"/> — for rows 2p and
    /// 2p + 1 and each whole 8-float chunk t of d, xc[2p, 8t..8t+8) then xc[2p + 1, 8t..8t+8) (zeros for a missing odd
    /// row) — in native memory aligned to 64 bytes (a 512-bit load that straddles cache lines costs a third of Block8's
    /// speed); free it with <see cref="FreePairs"/>. Else null.
    /// </summary>
    public static float* AllocPairs(ReadOnlySpan<float> xc, int b, int d)
    {
        if (!Wide) return null;
        int d8 = d / 8 * 8;
        long length = Math.Max(16, (b + 1) / 2 * 2L * d8);
        var pairs = new Span<float>(NativeMemory.AlignedAlloc((nuint)length * sizeof(float), 64), (int)length);
        if (b % 2 == 1) pairs.Slice((b - 1) * d8, 2 * d8).Clear();
        for (int r = 0; r < b; r++)
            for (int i = 0; i < d8; i += 8)
                xc.Slice(r * d + i, 8).CopyTo(pairs.Slice(r / 2 * 2 * d8 + 2 * i + r % 2 * 8, 8));
        return (float*)Unsafe.AsPointer(ref pairs[0]);
    }

    /// <summary>Frees what <see cref="AllocPairs"/> returned (null: nothing).</summary>
    public static void FreePairs(float* pairs) => NativeMemory.AlignedFree(pairs);

    /// <summary>output[(r − r0)·stride + c − c0] = pre[r, Latent(c)] for rows [r0, r1) and latent slots [c0, c1).</summary>
    public void Tile(int r0, int r1, int c0, int c1, float* output, long stride)
    {
        int r = r0;
        float* acc = stackalloc float[pairs != null ? 256 : 0];
        if (pairs != null && r0 % 2 == 0)
            for (; r + 8 <= r1; r += 8)
                for (int c = c0; c < c1; c += 4)
                    Block8(r, c, Math.Min(4, c1 - c), output + (r - r0) * stride + (c - c0), stride, acc);
        for (; r < r1; r += 4)
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

    /// <summary>
    /// output[q] = pre[r, Latent(slots[q])] for q in [0, count), by the tiles' arithmetic, eight independent FMA chains at
    /// a time (the screened encode's exact values of its admitted latents; eight chains hide the FMA latency).
    /// </summary>
    public void PreList(int r, int* slots, int count, float* output)
    {
        float* xr = xc + (long)r * d;
        int* j = stackalloc int[8];
        for (int q = 0; q < count; q += 8)
        {
            int n = Math.Min(8, count - q);
            for (int e = 0; e < 8; e++) j[e] = Latent(slots[q + Math.Min(e, n - 1)]);
            float* w0 = w + (long)j[0] * d, w1 = w + (long)j[1] * d, w2 = w + (long)j[2] * d, w3 = w + (long)j[3] * d;
            float* w4 = w + (long)j[4] * d, w5 = w + (long)j[5] * d, w6 = w + (long)j[6] * d, w7 = w + (long)j[7] * d;
            Vector256<float> s0 = default, s1 = default, s2 = default, s3 = default, s4 = default, s5 = default, s6 = default, s7 = default;
            int i = 0;
            for (; i <= d - 8; i += 8)
            {
                var a = Vector256.Load(xr + i);
                s0 = Vector256.FusedMultiplyAdd(a, Vector256.Load(w0 + i), s0); s1 = Vector256.FusedMultiplyAdd(a, Vector256.Load(w1 + i), s1);
                s2 = Vector256.FusedMultiplyAdd(a, Vector256.Load(w2 + i), s2); s3 = Vector256.FusedMultiplyAdd(a, Vector256.Load(w3 + i), s3);
                s4 = Vector256.FusedMultiplyAdd(a, Vector256.Load(w4 + i), s4); s5 = Vector256.FusedMultiplyAdd(a, Vector256.Load(w5 + i), s5);
                s6 = Vector256.FusedMultiplyAdd(a, Vector256.Load(w6 + i), s6); s7 = Vector256.FusedMultiplyAdd(a, Vector256.Load(w7 + i), s7);
            }
            var lo = LaneSums4(s0, s1, s2, s3);
            var hi = LaneSums4(s4, s5, s6, s7);
            for (int e = 0; e < n; e++) output[q + e] = WithTail(bias[j[e]] + (e < 4 ? lo[e] : hi[e - 4]), xr, j[e], i);
        }
    }

    // A 4×4 register block; rows or latents past an edge repeat the last valid one and are not stored. After the loop
    // only the sums and the arguments are live, so the loop keeps its ten pointers and counters in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Block(int r, int nr, int c, int nc, float* o, long stride)
    {
        var j = Block4(c, nc);
        float* x0 = xc + (long)r * d, x1 = x0 + Math.Min(1, nr - 1) * d, x2 = x0 + Math.Min(2, nr - 1) * d, x3 = x0 + Math.Min(3, nr - 1) * d;
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
        // All lane sums before any call: accumulators live across a call would be spilled inside the loop.
        var s0 = LaneSums4(c00, c01, c02, c03);
        var s1 = LaneSums4(c10, c11, c12, c13);
        var s2 = LaneSums4(c20, c21, c22, c23);
        var s3 = LaneSums4(c30, c31, c32, c33);
        if (nr == 4 && nc == 4 && i == d)
        {
            var bias4 = Bias4(c);
            (bias4 + s0).Store(o);
            (bias4 + s1).Store(o + stride);
            (bias4 + s2).Store(o + 2 * stride);
            (bias4 + s3).Store(o + 3 * stride);
        }
        else Edge(r, nr, c, nc, o, stride, i, s0, s1, s2, s3);
    }

    // Eight rows (r even) × four latents with 512-bit FMAs (AVX-512): accumulator pq holds, for latent q, the 8-lane chains
    // of rows r + 2p (lower half) and r + 2p + 1 (upper half), read from the row pairs in one load, W's eight floats
    // broadcast to both halves — lane for lane the FMAs of Block's accumulators, so every element's arithmetic, and its
    // value, is the 4×4 block's, with twice the products per instruction and no shuffles.
    // acc: 256 floats of scratch for the sixteen accumulators (the caller's, allocated once per tile).
    private void Block8(int r, int c, int nc, float* o, long stride, float* acc)
    {
        var j = Block4(c, nc);
        int i = d / 8 * 8;
        Chains8(pairs + r / 2 * 2L * i, 2L * i, w + (long)j.J0 * d, w + (long)j.J1 * d, w + (long)j.J2 * d, w + (long)j.J3 * d, i, acc);
        Vector128<float> s0 = Sums(acc, 0), s1 = Sums(acc, 8), s2 = Sums(acc, 64), s3 = Sums(acc, 72);
        Vector128<float> s4 = Sums(acc, 128), s5 = Sums(acc, 136), s6 = Sums(acc, 192), s7 = Sums(acc, 200);
        if (nc == 4 && i == d)
        {
            var bias4 = Bias4(c);
            (bias4 + s0).Store(o);
            (bias4 + s1).Store(o + stride);
            (bias4 + s2).Store(o + 2 * stride);
            (bias4 + s3).Store(o + 3 * stride);
            (bias4 + s4).Store(o + 4 * stride);
            (bias4 + s5).Store(o + 5 * stride);
            (bias4 + s6).Store(o + 6 * stride);
            (bias4 + s7).Store(o + 7 * stride);
        }
        else
        {
            Edge(r, 4, c, nc, o, stride, i, s0, s1, s2, s3);
            Edge(r + 4, 4, c, nc, o + 4 * stride, stride, i, s4, s5, s6, s7);
        }
    }

    // Block8's FMA chains over [0, n) (n a multiple of 8) into acc [16 × 16]: accumulator (p, q) at acc + 64p + 16q holds
    // rows 2p and 2p + 1 of the pairs at x + p·pair against latent row q. A leaf: after the loop only stores, so the JIT keeps
    // all sixteen accumulators in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void Chains8(float* x0, long pair, float* w0, float* w1, float* w2, float* w3, int n, float* acc)
    {
        float* x2 = x0 + pair, x4 = x2 + pair, x6 = x4 + pair;
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < n; i += 8)
        {
            var b0 = Wide4(w0 + i); var b1 = Wide4(w1 + i);
            var b2 = Wide4(w2 + i); var b3 = Wide4(w3 + i);
            var a = Vector512.Load(x0 + 2 * i);
            c00 = Vector512.FusedMultiplyAdd(a, b0, c00); c01 = Vector512.FusedMultiplyAdd(a, b1, c01);
            c02 = Vector512.FusedMultiplyAdd(a, b2, c02); c03 = Vector512.FusedMultiplyAdd(a, b3, c03);
            a = Vector512.Load(x2 + 2 * i);
            c10 = Vector512.FusedMultiplyAdd(a, b0, c10); c11 = Vector512.FusedMultiplyAdd(a, b1, c11);
            c12 = Vector512.FusedMultiplyAdd(a, b2, c12); c13 = Vector512.FusedMultiplyAdd(a, b3, c13);
            a = Vector512.Load(x4 + 2 * i);
            c20 = Vector512.FusedMultiplyAdd(a, b0, c20); c21 = Vector512.FusedMultiplyAdd(a, b1, c21);
            c22 = Vector512.FusedMultiplyAdd(a, b2, c22); c23 = Vector512.FusedMultiplyAdd(a, b3, c23);
            a = Vector512.Load(x6 + 2 * i);
            c30 = Vector512.FusedMultiplyAdd(a, b0, c30); c31 = Vector512.FusedMultiplyAdd(a, b1, c31);
            c32 = Vector512.FusedMultiplyAdd(a, b2, c32); c33 = Vector512.FusedMultiplyAdd(a, b3, c33);
        }
        c00.Store(acc); c01.Store(acc + 16); c02.Store(acc + 32); c03.Store(acc + 48);
        c10.Store(acc + 64); c11.Store(acc + 80); c12.Store(acc + 96); c13.Store(acc + 112);
        c20.Store(acc + 128); c21.Store(acc + 144); c22.Store(acc + 160); c23.Store(acc + 176);
        c30.Store(acc + 192); c31.Store(acc + 208); c32.Store(acc + 224); c33.Store(acc + 240);
    }

    // LaneSums4 of the four 8-lane accumulators at p, p + 16, p + 32, p + 48.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sums(float* acc, int p) =>
        LaneSums4(Vector256.Load(acc + p), Vector256.Load(acc + p + 16), Vector256.Load(acc + p + 32), Vector256.Load(acc + p + 48));

    // Eight floats at p in both halves (vbroadcastf64x4: a load, no shuffle).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Wide4(float* p) => Avx512F.BroadcastVector256ToVector512((double*)p).AsSingle();

    // The block's four latents; past an edge the last valid one repeats.
    private Latents4 Block4(int c, int nc) =>
        new(Latent(c), Latent(c + Math.Min(1, nc - 1)), Latent(c + Math.Min(2, nc - 1)), Latent(c + Math.Min(3, nc - 1)));

    private Vector128<float> Bias4(int c) => latents == null
        ? Vector128.Load(bias + c)
        : Vector128.Create(bias[latents[c]], bias[latents[c + 1]], bias[latents[c + 2]], bias[latents[c + 3]]);

    // A block at an edge of the tile or of d: each stored element as in Element.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Edge(int r, int nr, int c, int nc, float* o, long stride, int tail, Vector128<float> s0, Vector128<float> s1,
        Vector128<float> s2, Vector128<float> s3)
    {
        var j = Block4(c, nc);
        ReadOnlySpan<int> latent = [j.J0, j.J1, j.J2, j.J3];
        ReadOnlySpan<Vector128<float>> sums = [s0, s1, s2, s3];
        for (int q = 0; q < nr; q++)
        {
            float* xr = xc + (long)(r + q) * d;
            for (int n = 0; n < nc; n++) o[q * stride + n] = WithTail(bias[latent[n]] + sums[q][n], xr, latent[n], tail);
        }
    }

    private readonly record struct Latents4(int J0, int J1, int J2, int J3);

    // (bias + lane sum), then + the scalar tail when d has one: every element's arithmetic, in a block or alone.
    private float Element(Vector256<float> s, float* xr, int j, int tail) =>
        WithTail(bias[j] + LaneSums4(s, s, s, s).ToScalar(), xr, j, tail);

    private float WithTail(float value, float* xr, int j, int tail)
    {
        if (tail == d) return value;
        float* wj = w + (long)j * d;
        float t = 0;
        for (int i = tail; i < d; i++) t += xr[i] * wj[i];
        return value + t;
    }

    /// <summary>
    /// The lane sums of four accumulators, each in <see cref="Vector256.Sum{T}(Vector256{T})"/>'s order
    /// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)): three horizontal adds and one 128-bit add for all four where the
    /// CPU has AVX.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<float> LaneSums4(Vector256<float> s0, Vector256<float> s1, Vector256<float> s2, Vector256<float> s3)
    {
        if (Avx.IsSupported)
        {
            var h = Avx.HorizontalAdd(Avx.HorizontalAdd(s0, s1), Avx.HorizontalAdd(s2, s3));
            return h.GetLower() + h.GetUpper();
        }
        return Vector128.Create(Vector256.Sum(s0), Vector256.Sum(s1), Vector256.Sum(s2), Vector256.Sum(s3));
    }
}
