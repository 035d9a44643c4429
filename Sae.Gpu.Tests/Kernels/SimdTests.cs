using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SaeGpu.Kernels;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>The CPU paths' shared SIMD helpers against their one-row forms, bit for bit.</summary>
public class SimdTests
{
    // Lengths around the 16-float main loop, the 8-float step and the scalar tail, and a typical model width.
    private static readonly int[] Lengths = [0, 1, 7, 8, 9, 15, 16, 17, 24, 31, 33, 100, 141, 768, 771];

    [Property(MaxTest = 100)]
    public Property Dot4_EqualsDot_BitForBit() =>
        Prop.ForAll(Gen.Elements(Lengths).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (n, seed) =>
        {
            var rng = new Random(seed);
            float[] a = Values(rng, n), rows = Values(rng, 4 * n), s = new float[4];
            unsafe
            {
                fixed (float* pa = a) fixed (float* pr = rows) fixed (float* ps = s)
                    Simd.Dot4(pa, pr, pr + n, pr + 2 * n, pr + 3 * n, n, ps);
            }
            for (int c = 0; c < 4; c++)
                Assert.Equal(BitConverter.SingleToInt32Bits(Simd.Dot(a, rows.AsSpan(c * n, n))), BitConverter.SingleToInt32Bits(s[c]));
        });

    [Property(MaxTest = 100)]
    public Property Axpy4_EqualsFourAxpys_BitForBit() =>
        Prop.ForAll(Gen.Elements(Lengths).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (n, seed) =>
        {
            var rng = new Random(seed);
            float[] a = Values(rng, 4), rows = Values(rng, 4 * n), y = Values(rng, n), expected = (float[])y.Clone();
            for (int c = 0; c < 4; c++) Simd.Axpy(a[c], rows.AsSpan(c * n, n), expected);
            unsafe
            {
                fixed (float* pr = rows) fixed (float* py = y)
                    Simd.Axpy4(a[0], pr, a[1], pr + n, a[2], pr + 2 * n, a[3], pr + 3 * n, py, n);
            }
            for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(y[i]));
        });

    private static float[] Values(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 4 - 2);
        return v;
    }
}
