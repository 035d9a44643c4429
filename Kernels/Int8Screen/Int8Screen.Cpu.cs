using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SaeGpu.Kernels;

internal static partial class Int8Screen
{
    /// <summary>
    /// Σ a_i·b_i of two int8 rows with AVX-VNNI (<c>vpdpbusd</c>: 32 u8×s8 products per instruction) where the CPU has it,
    /// else <see cref="DotReference"/>; exact either way. VNNI multiplies unsigned by signed bytes, so a is offset by 128
    /// (<paramref name="aOffset"/> holds a_i + 128 as bytes) and 128·Σb (<paramref name="bSum"/>) is subtracted.
    /// </summary>
    public static int DotCpu(ReadOnlySpan<byte> aOffset, ReadOnlySpan<sbyte> b, int bSum)
    {
        int d = b.Length, i = 0, sum = 0;
        if (AvxVnni.IsSupported)
        {
            var acc = Vector256<int>.Zero;
            for (; i <= d - 32; i += 32)
                acc = AvxVnni.MultiplyWideningAndAdd(acc, Vector256.Create(aOffset.Slice(i, 32)), Vector256.Create(b.Slice(i, 32)));
            sum = Vector256.Sum(acc);
        }
        for (; i < d; i++) sum += aOffset[i] * b[i];
        return sum - 128 * bSum;
    }

    /// <summary>
    /// A tile of int8 dots: output[(r − r0)·stride + (c − c0)] = Σ_i q_x[r, i]·q_w[c, i] for rows [r0, r1) and latents
    /// [c0, c1), from rows offset by 128 (<paramref name="xOffset"/> [·, d]), int8 latent rows <paramref name="w"/> [·, d] and
    /// their sums <paramref name="wSums"/>. 4×4 register blocks of AVX-VNNI accumulators (16 × 32 products per 32-byte step)
    /// where the CPU has it; each element equals <see cref="DotCpu"/> and <see cref="DotReference"/> exactly.
    /// </summary>
    public static unsafe void DotTile(byte* xOffset, sbyte* w, int* wSums, int d, int r0, int r1, int c0, int c1, int* output, long stride)
    {
        for (int r = r0; r < r1; r += 4)
            for (int c = c0; c < c1; c += 4)
            {
                int nr = Math.Min(4, r1 - r), nc = Math.Min(4, c1 - c);
                if (AvxVnni.IsSupported && nr == 4 && nc == 4) Block(xOffset + (long)r * d, w + (long)c * d, wSums + c, d, output + (r - r0) * stride + (c - c0), stride);
                else
                    for (int q = 0; q < nr; q++)
                        for (int n = 0; n < nc; n++)
                            output[(r - r0 + q) * stride + c - c0 + n] = DotCpu(new ReadOnlySpan<byte>(xOffset + (long)(r + q) * d, d),
                                new ReadOnlySpan<sbyte>(w + (long)(c + n) * d, d), wSums[c + n]);
            }
    }

    // Four rows × four latents; the accumulators stay in registers over d, the tail past the last 32 bytes is scalar.
    private static unsafe void Block(byte* x, sbyte* w, int* wSums, int d, int* o, long stride)
    {
        Span<Vector256<int>> acc = stackalloc Vector256<int>[16];
        int i = 0;
        for (; i <= d - 32; i += 32)
            for (int q = 0; q < 4; q++)
            {
                var a = Vector256.Load(x + (long)q * d + i);
                for (int n = 0; n < 4; n++) acc[q * 4 + n] = AvxVnni.MultiplyWideningAndAdd(acc[q * 4 + n], a, Vector256.Load(w + (long)n * d + i));
            }
        for (int q = 0; q < 4; q++)
            for (int n = 0; n < 4; n++)
            {
                int sum = Vector256.Sum(acc[q * 4 + n]);
                for (int t = i; t < d; t++) sum += x[(long)q * d + t] * w[(long)n * d + t];
                o[q * stride + n] = sum - 128 * wSums[n];
            }
    }

    /// <summary>a_i + 128 as bytes: the unsigned operand of <see cref="DotCpu"/>.</summary>
    public static void Offset(ReadOnlySpan<sbyte> a, Span<byte> aOffset)
    {
        for (int i = 0; i < a.Length; i++) aOffset[i] = (byte)(a[i] + 128);
    }

    /// <summary>Σ b_i: the correction term of <see cref="DotCpu"/>.</summary>
    public static int Sum(ReadOnlySpan<sbyte> b)
    {
        int s = 0;
        foreach (sbyte v in b) s += v;
        return s;
    }
}
