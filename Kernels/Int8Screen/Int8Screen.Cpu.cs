using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SaeGpu.Kernels;

/// <summary>How the int8 screen multiplies: the instruction family of <see cref="Int8Screen.DotTile"/>.</summary>
internal enum Int8Kernel
{
    /// <summary>Scalar int32 products (the reference; any CPU).</summary>
    Scalar,

    /// <summary>AVX-VNNI <c>vpdpbusd</c> (256-bit): 32 u8×s8 products summed into 8 int32 lanes per instruction; 127 levels.</summary>
    Vnni,

    /// <summary>
    /// AVX-512BW <c>vpmaddubsw</c> then <c>vpmaddwd</c> (for CPUs with AVX-512 but without AVX-VNNI, whose VNNI .NET 10 does
    /// not expose): 64 u8×s8 products per instruction into int16 pairs, two of them added in int16 before widening. Both
    /// operands use 63 levels so no int16 sum can saturate: 2·(2·127·63) = 32,004 &lt; 32,767.
    /// </summary>
    Adjacent,
}

internal static partial class Int8Screen
{
    /// <summary>The fastest kernel this CPU runs: <see cref="Int8Kernel.Vnni"/>, else <see cref="Int8Kernel.Adjacent"/>, else scalar.</summary>
    public static Int8Kernel Fastest { get; } =
        AvxVnni.IsSupported ? Int8Kernel.Vnni : Avx512BW.IsSupported ? Int8Kernel.Adjacent : Int8Kernel.Scalar;

    /// <summary>Whether this CPU runs <paramref name="kernel"/>.</summary>
    public static bool IsSupported(Int8Kernel kernel) => kernel switch
    {
        Int8Kernel.Vnni => AvxVnni.IsSupported,
        Int8Kernel.Adjacent => Avx512BW.IsSupported,
        _ => true,
    };

    /// <summary>Quantization levels L of a kernel's operands (values in [−L, L]); the unsigned operand holds q + L + 1.</summary>
    public static int LevelsOf(Int8Kernel kernel) => kernel == Int8Kernel.Adjacent ? 63 : 127;

    /// <summary>Quantized rows are stored with a width padded to a multiple of this many bytes (zeros), so no kernel has a tail.</summary>
    public const int RowAlignment = 128;

    /// <summary>d rounded up to <see cref="RowAlignment"/>.</summary>
    public static int PaddedWidth(int d) => (d + RowAlignment - 1) / RowAlignment * RowAlignment;

    /// <summary>
    /// A tile of int8 dots: output[(r − r0)·stride + (c − c0)] = Σ_i q_x[r, i]·q_w[c, i] for rows [r0, r1) and latent rows
    /// [c0, c1), from the unsigned rows <paramref name="x"/> [·, width] holding q + offset, the signed rows
    /// <paramref name="w"/> [·, width] and their sums <paramref name="wSums"/> (Σ_i q_w[c, i]; the offset's contribution
    /// offset·Σ_i q_w[c, i] is subtracted). width is a multiple of <see cref="RowAlignment"/>, with zeros past d in w. 4×4
    /// register blocks; rows or latents past an edge repeat the last valid one and are not stored. Exact for every kernel.
    /// </summary>
    public static unsafe void DotTile(Int8Kernel kernel, byte* x, sbyte* w, int* wSums, int offset, int width,
        int r0, int r1, int c0, int c1, int* output, long stride)
    {
        int* block = stackalloc int[16];
        for (int r = r0; r < r1; r += 4)
            for (int c = c0; c < c1; c += 4)
            {
                int nr = Math.Min(4, r1 - r), nc = Math.Min(4, c1 - c);
                byte* x0 = x + (long)r * width;
                sbyte* w0 = w + (long)c * width;
                var rows = new Quad<byte>(x0, x0 + Math.Min(1, nr - 1) * width, x0 + Math.Min(2, nr - 1) * width, x0 + Math.Min(3, nr - 1) * width);
                var latents = new Quad<sbyte>(w0, w0 + Math.Min(1, nc - 1) * width, w0 + Math.Min(2, nc - 1) * width, w0 + Math.Min(3, nc - 1) * width);
                switch (kernel)
                {
                    case Int8Kernel.Vnni: VnniBlock(rows, latents, width, block); break;
                    case Int8Kernel.Adjacent: AdjacentBlock(rows, latents, width, block); break;
                    default: ScalarBlock(rows, latents, width, block); break;
                }
                for (int q = 0; q < nr; q++)
                    for (int n = 0; n < nc; n++)
                        output[(r - r0 + q) * stride + c - c0 + n] = block[q * 4 + n] - offset * wSums[c + n];
            }
    }

    /// <summary>Four row pointers of a register block.</summary>
    private readonly unsafe struct Quad<T>(T* p0, T* p1, T* p2, T* p3) where T : unmanaged
    {
        public readonly T* P0 = p0, P1 = p1, P2 = p2, P3 = p3;
    }

    private static unsafe void ScalarBlock(Quad<byte> x, Quad<sbyte> w, int width, int* o)
    {
        ReadOnlySpan<nint> xs = [(nint)x.P0, (nint)x.P1, (nint)x.P2, (nint)x.P3], ws = [(nint)w.P0, (nint)w.P1, (nint)w.P2, (nint)w.P3];
        for (int q = 0; q < 4; q++)
            for (int n = 0; n < 4; n++)
            {
                byte* a = (byte*)xs[q];
                sbyte* b = (sbyte*)ws[n];
                int sum = 0;
                for (int i = 0; i < width; i++) sum += a[i] * b[i];
                o[q * 4 + n] = sum;
            }
    }

    // 16 accumulators of 8 int32 lanes, 32 bytes of d per step; all stay in registers.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void VnniBlock(Quad<byte> x, Quad<sbyte> w, int width, int* o)
    {
        Vector256<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < width; i += 32)
        {
            var b0 = Vector256.Load(w.P0 + i); var b1 = Vector256.Load(w.P1 + i);
            var b2 = Vector256.Load(w.P2 + i); var b3 = Vector256.Load(w.P3 + i);
            var a = Vector256.Load(x.P0 + i);
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, a, b0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, a, b1);
            c02 = AvxVnni.MultiplyWideningAndAdd(c02, a, b2); c03 = AvxVnni.MultiplyWideningAndAdd(c03, a, b3);
            a = Vector256.Load(x.P1 + i);
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, a, b0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, a, b1);
            c12 = AvxVnni.MultiplyWideningAndAdd(c12, a, b2); c13 = AvxVnni.MultiplyWideningAndAdd(c13, a, b3);
            a = Vector256.Load(x.P2 + i);
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, a, b0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, a, b1);
            c22 = AvxVnni.MultiplyWideningAndAdd(c22, a, b2); c23 = AvxVnni.MultiplyWideningAndAdd(c23, a, b3);
            a = Vector256.Load(x.P3 + i);
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, a, b0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, a, b1);
            c32 = AvxVnni.MultiplyWideningAndAdd(c32, a, b2); c33 = AvxVnni.MultiplyWideningAndAdd(c33, a, b3);
        }
        Store4(o, Vector256.Sum(c00), Vector256.Sum(c01), Vector256.Sum(c02), Vector256.Sum(c03));
        Store4(o + 4, Vector256.Sum(c10), Vector256.Sum(c11), Vector256.Sum(c12), Vector256.Sum(c13));
        Store4(o + 8, Vector256.Sum(c20), Vector256.Sum(c21), Vector256.Sum(c22), Vector256.Sum(c23));
        Store4(o + 12, Vector256.Sum(c30), Vector256.Sum(c31), Vector256.Sum(c32), Vector256.Sum(c33));
    }

    // 16 accumulators of 16 int32 lanes, 128 bytes of d per step: per row and latent two vpmaddubsw (int16 pairs, added in
    // int16: at most 4 products of 127·63 per lane), one vpmaddwd by ones into int32.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AdjacentBlock(Quad<byte> x, Quad<sbyte> w, int width, int* o)
    {
        Vector512<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < width; i += 128)
        {
            var b0 = Vector512.Load(w.P0 + i); var b1 = Vector512.Load(w.P1 + i);
            var b2 = Vector512.Load(w.P2 + i); var b3 = Vector512.Load(w.P3 + i);
            var e0 = Vector512.Load(w.P0 + i + 64); var e1 = Vector512.Load(w.P1 + i + 64);
            var e2 = Vector512.Load(w.P2 + i + 64); var e3 = Vector512.Load(w.P3 + i + 64);
            var a = Vector512.Load(x.P0 + i); var g = Vector512.Load(x.P0 + i + 64);
            c00 += Pairs(a, b0, g, e0); c01 += Pairs(a, b1, g, e1); c02 += Pairs(a, b2, g, e2); c03 += Pairs(a, b3, g, e3);
            a = Vector512.Load(x.P1 + i); g = Vector512.Load(x.P1 + i + 64);
            c10 += Pairs(a, b0, g, e0); c11 += Pairs(a, b1, g, e1); c12 += Pairs(a, b2, g, e2); c13 += Pairs(a, b3, g, e3);
            a = Vector512.Load(x.P2 + i); g = Vector512.Load(x.P2 + i + 64);
            c20 += Pairs(a, b0, g, e0); c21 += Pairs(a, b1, g, e1); c22 += Pairs(a, b2, g, e2); c23 += Pairs(a, b3, g, e3);
            a = Vector512.Load(x.P3 + i); g = Vector512.Load(x.P3 + i + 64);
            c30 += Pairs(a, b0, g, e0); c31 += Pairs(a, b1, g, e1); c32 += Pairs(a, b2, g, e2); c33 += Pairs(a, b3, g, e3);
        }
        Store4(o, Vector512.Sum(c00), Vector512.Sum(c01), Vector512.Sum(c02), Vector512.Sum(c03));
        Store4(o + 4, Vector512.Sum(c10), Vector512.Sum(c11), Vector512.Sum(c12), Vector512.Sum(c13));
        Store4(o + 8, Vector512.Sum(c20), Vector512.Sum(c21), Vector512.Sum(c22), Vector512.Sum(c23));
        Store4(o + 12, Vector512.Sum(c30), Vector512.Sum(c31), Vector512.Sum(c32), Vector512.Sum(c33));
    }

    // Σ of a·b + g·e over each group of four bytes, as int32 lanes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pairs(Vector512<byte> a, Vector512<sbyte> b, Vector512<byte> g, Vector512<sbyte> e) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(a, b) + Avx512BW.MultiplyAddAdjacent(g, e), Vector512.Create((short)1));

    private static unsafe void Store4(int* o, int s0, int s1, int s2, int s3) => (o[0], o[1], o[2], o[3]) = (s0, s1, s2, s3);
}
