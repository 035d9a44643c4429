using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    /// not expose): 64 u8×s8 products per instruction into int16 pairs, each widened to int32 by a <c>vpmaddwd</c>. The rows
    /// use 127 levels (unsigned q + 128 ≤ 255), the latents 63, so no int16 pair sum can saturate: 2·255·63 = 32,130
    /// &lt; 32,767.
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

    /// <summary>
    /// Quantization levels of a kernel's operands (values in [−L, L]): X for the rows, whose unsigned bytes hold q + X + 1,
    /// and W for the latents (127 and 127, or 127 and 63 for <see cref="Int8Kernel.Adjacent"/>).
    /// </summary>
    public static (int X, int W) LevelsOf(Int8Kernel kernel) => (127, kernel == Int8Kernel.Adjacent ? 63 : 127);

    /// <summary>
    /// <see cref="QuantizeRow"/> vectorized (the screen quantizes every centered row and every W_enc row per call):
    /// scale s = max|v_i| / L, q_i = round(v_i · (L / max|v_i|)) clamped to [−L, L], and ‖v‖₂, ‖v − s·q‖₂, ‖s·q‖₂ summed in
    /// float64 over four lanes. Multiplying by the reciprocal may round a value at a half-way point differently from the
    /// reference's division, and the sums run in another order; the norms are those of the q written here, so the screen's
    /// bound holds either way. A zero row gets scale 0, a row holding NaN or ±Inf scale NaN, as in the reference.
    /// </summary>
    public static (float Scale, RowNorms Norms) QuantizeRowCpu(ReadOnlySpan<float> v, int levels, Span<sbyte> q)
    {
        ref float v0 = ref MemoryMarshal.GetReference(v);
        int d = v.Length, i = 0;
        var max8 = Vector256<float>.Zero;
        var full4 = Vector256<double>.Zero;
        for (; i <= d - 8; i += 8)
        {
            var x = Vector256.LoadUnsafe(ref v0, (nuint)i);
            max8 = Vector256.Max(max8, Vector256.Abs(x));
            var (lo, hi) = Vector256.Widen(x);
            full4 = Vector256.FusedMultiplyAdd(lo, lo, Vector256.FusedMultiplyAdd(hi, hi, full4));
        }
        var m4 = Vector128.Max(max8.GetLower(), max8.GetUpper());
        float max = MathF.Max(MathF.Max(m4[0], m4[1]), MathF.Max(m4[2], m4[3]));
        double full = Vector256.Sum(full4);
        for (int t = i; t < d; t++) (max, full) = (MathF.Max(max, MathF.Abs(v[t])), full + (double)v[t] * v[t]);
        if (!double.IsFinite(full))
        {
            q.Clear();
            return (float.NaN, new RowNorms(double.NaN, double.NaN, double.NaN));
        }
        if (max == 0)
        {
            q.Clear();
            return (0, new RowNorms(0, 0, 0));
        }
        float s = max / levels, inv = levels / max;
        if (s == 0 || !float.IsFinite(inv)) return QuantizeRow(v, levels, q); // subnormal maxima: the reference's arithmetic
        var (residual, quantized) = QuantizeBody(ref v0, d, levels, s, inv, q);
        return (s, new RowNorms(Math.Sqrt(full), Math.Sqrt(residual), Math.Sqrt(quantized)));
    }

    // QuantizeRowCpu's second pass: q, and Σ(v − s·q)² and Σ(s·q)² in float64.
    private static (double Residual, double Quantized) QuantizeBody(ref float v0, int d, int levels, float s, float inv, Span<sbyte> q)
    {
        var (lim, scale, sd) = (Vector256.Create((float)levels), Vector256.Create(inv), Vector256.Create((double)s));
        var (res4, quant4) = (Vector256<double>.Zero, Vector256<double>.Zero);
        int i = 0;
        for (; i <= d - 8; i += 8)
        {
            var x = Vector256.LoadUnsafe(ref v0, (nuint)i);
            var r = Vector256.Min(lim, Vector256.Max(-lim, Vector256.Round(x * scale)));
            var qi = Vector256.ConvertToInt32(r);
            for (int l = 0; l < 8; l++) q[i + l] = (sbyte)qi.GetElement(l);
            var (xl, xh) = Vector256.Widen(x);
            var (rl, rh) = Vector256.Widen(r);
            var (al, ah) = (sd * rl, sd * rh);
            var (el, eh) = (xl - al, xh - ah);
            res4 = Vector256.FusedMultiplyAdd(el, el, Vector256.FusedMultiplyAdd(eh, eh, res4));
            quant4 = Vector256.FusedMultiplyAdd(al, al, Vector256.FusedMultiplyAdd(ah, ah, quant4));
        }
        double residual = Vector256.Sum(res4), quantized = Vector256.Sum(quant4);
        for (; i < d; i++)
        {
            float vi = Unsafe.Add(ref v0, i);
            q[i] = (sbyte)Math.Clamp(MathF.Round(vi * inv), -levels, levels);
            double approx = (double)s * q[i], e = vi - approx;
            (residual, quantized) = (residual + e * e, quantized + approx * approx);
        }
        return (residual, quantized);
    }

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
        byte* x0 = x.P0, x1 = x.P1, x2 = x.P2, x3 = x.P3; // locals stay in registers; struct fields would be reloaded
        sbyte* w0 = w.P0, w1 = w.P1, w2 = w.P2, w3 = w.P3;
        Vector256<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector256<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < width; i += 32)
        {
            var b0 = Vector256.Load(w0 + i); var b1 = Vector256.Load(w1 + i);
            var b2 = Vector256.Load(w2 + i); var b3 = Vector256.Load(w3 + i);
            var a = Vector256.Load(x0 + i);
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, a, b0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, a, b1);
            c02 = AvxVnni.MultiplyWideningAndAdd(c02, a, b2); c03 = AvxVnni.MultiplyWideningAndAdd(c03, a, b3);
            a = Vector256.Load(x1 + i);
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, a, b0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, a, b1);
            c12 = AvxVnni.MultiplyWideningAndAdd(c12, a, b2); c13 = AvxVnni.MultiplyWideningAndAdd(c13, a, b3);
            a = Vector256.Load(x2 + i);
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, a, b0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, a, b1);
            c22 = AvxVnni.MultiplyWideningAndAdd(c22, a, b2); c23 = AvxVnni.MultiplyWideningAndAdd(c23, a, b3);
            a = Vector256.Load(x3 + i);
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, a, b0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, a, b1);
            c32 = AvxVnni.MultiplyWideningAndAdd(c32, a, b2); c33 = AvxVnni.MultiplyWideningAndAdd(c33, a, b3);
        }
        Sums4(c00, c01, c02, c03).Store(o);
        Sums4(c10, c11, c12, c13).Store(o + 4);
        Sums4(c20, c21, c22, c23).Store(o + 8);
        Sums4(c30, c31, c32, c33).Store(o + 12);
    }

    // 16 accumulators of 16 int32 lanes, 128 bytes of d per step: per row and latent two vpmaddubsw (int16 pairs of u8·s8
    // products, at most 2·255·63 each), each widened by a vpmaddwd by ones into int32.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AdjacentBlock(Quad<byte> x, Quad<sbyte> w, int width, int* o)
    {
        byte* x0 = x.P0, x1 = x.P1, x2 = x.P2, x3 = x.P3; // locals stay in registers; struct fields would be reloaded
        sbyte* w0 = w.P0, w1 = w.P1, w2 = w.P2, w3 = w.P3;
        Vector512<int> c00 = default, c01 = default, c02 = default, c03 = default, c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<int> c20 = default, c21 = default, c22 = default, c23 = default, c30 = default, c31 = default, c32 = default, c33 = default;
        for (int i = 0; i < width; i += 128)
        {
            var b0 = Vector512.Load(w0 + i); var b1 = Vector512.Load(w1 + i);
            var b2 = Vector512.Load(w2 + i); var b3 = Vector512.Load(w3 + i);
            var e0 = Vector512.Load(w0 + i + 64); var e1 = Vector512.Load(w1 + i + 64);
            var e2 = Vector512.Load(w2 + i + 64); var e3 = Vector512.Load(w3 + i + 64);
            var a = Vector512.Load(x0 + i); var g = Vector512.Load(x0 + i + 64);
            c00 += Pairs(a, b0, g, e0); c01 += Pairs(a, b1, g, e1); c02 += Pairs(a, b2, g, e2); c03 += Pairs(a, b3, g, e3);
            a = Vector512.Load(x1 + i); g = Vector512.Load(x1 + i + 64);
            c10 += Pairs(a, b0, g, e0); c11 += Pairs(a, b1, g, e1); c12 += Pairs(a, b2, g, e2); c13 += Pairs(a, b3, g, e3);
            a = Vector512.Load(x2 + i); g = Vector512.Load(x2 + i + 64);
            c20 += Pairs(a, b0, g, e0); c21 += Pairs(a, b1, g, e1); c22 += Pairs(a, b2, g, e2); c23 += Pairs(a, b3, g, e3);
            a = Vector512.Load(x3 + i); g = Vector512.Load(x3 + i + 64);
            c30 += Pairs(a, b0, g, e0); c31 += Pairs(a, b1, g, e1); c32 += Pairs(a, b2, g, e2); c33 += Pairs(a, b3, g, e3);
        }
        Sums4(Half(c00), Half(c01), Half(c02), Half(c03)).Store(o);
        Sums4(Half(c10), Half(c11), Half(c12), Half(c13)).Store(o + 4);
        Sums4(Half(c20), Half(c21), Half(c22), Half(c23)).Store(o + 8);
        Sums4(Half(c30), Half(c31), Half(c32), Half(c33)).Store(o + 12);
    }

    // Σ of a·b + g·e over each group of four bytes, as int32 lanes.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Pairs(Vector512<byte> a, Vector512<sbyte> b, Vector512<byte> g, Vector512<sbyte> e) =>
        Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(a, b), Vector512.Create((short)1))
        + Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(g, e), Vector512.Create((short)1));

    // The lane sums of four accumulators (integer adds: any order is exact): three horizontal adds and one 128-bit add.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sums4(Vector256<int> s0, Vector256<int> s1, Vector256<int> s2, Vector256<int> s3)
    {
        var h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(s0, s1), Avx2.HorizontalAdd(s2, s3));
        return h.GetLower() + h.GetUpper();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Half(Vector512<int> v) => v.GetLower() + v.GetUpper();
}
