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
