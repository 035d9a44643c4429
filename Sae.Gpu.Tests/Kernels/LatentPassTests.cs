using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SaeGpu.Kernels;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// The CPU gathers from W in latent-range passes (<see cref="SparseDecode.CpuPasses"/>; one pass below 12 MiB of W, so
/// the generated shapes of the other properties never take more): with rows sorted by latent, any number of passes gives
/// the one-pass result bit for bit; with unsorted rows the decode still matches the reference.
/// </summary>
public class LatentPassTests
{
    private static Gen<(Shape Shape, int Passes)> Cases =>
        from b in Gen.Elements(1, 5, 17)
        from d in Gen.Elements(1, 8, 17, 33)
        from f in Gen.Elements(2, 7, 64, 65)
        from k in Gen.Elements(1, 3, 5, 8, 13)
        from passes in Gen.Elements(2, 3, 7, 100)
        from seed in Gen.Choose(0, 1_000_000)
        select (new Shape(b, d, f, k, seed), passes);

    [Property(MaxTest = 100)]
    public Property SparseDecodeGrad_Cpu_InPasses_EqualsOnePass_BitForBit() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var one = DecodeGrad(c.Shape, 1);
            var many = DecodeGrad(c.Shape, c.Passes);
            for (int o = 0; o < one.Length; o++) AssertBits(one[o], many[o], $"{c} output {o}");
        });

    [Property(MaxTest = 100)]
    public Property SparseDecode_Cpu_InPasses_UnsortedRows_MatchesReference() =>
        Prop.ForAll(Cases.ToArbitrary(), c =>
        {
            var s = c.Shape;
            var (offsets, indices, values) = s.Codes(3);
            var rng = new Random(s.Seed);
            for (int r = 0; r < s.B; r++) Shuffle(rng, offsets[r], offsets[r + 1], indices, values);
            float[] w = s.Values(s.F * s.D, 4), bias = s.Values(s.D, 5), expected = new float[s.B * s.D], actual = new float[s.B * s.D];
            SparseDecode.Reference(offsets, indices, values, w, bias, expected);
            SparseDecode.Cpu(offsets, indices, values, w, bias, actual, c.Passes);
            Tolerance.AssertClose(expected, actual, 1e-5 + 2e-6 * 4 * s.K, 1e-4, c.ToString());
        });

    // xhat, grad, sse and the value gradients of the fused CPU op in the given number of passes.
    private static float[][] DecodeGrad(Shape s, int passes)
    {
        var (offsets, indices, values) = s.Codes(1);
        float[] w = s.Values(s.F * s.D, 2), bias = s.Values(s.D, 3), x = s.Values(s.B * s.D, 4);
        float[] xhat = new float[s.B * s.D], grad = new float[s.B * s.D], sse = new float[s.B], gValues = new float[s.B * s.K];
        SparseDecodeGrad.Cpu(offsets, indices, values, w, bias, x, 0.25f, 0.5f, xhat, grad, sse, gValues, passes);
        return [xhat, grad, sse, gValues];
    }

    private static void Shuffle(Random rng, int from, int to, int[] indices, float[] values)
    {
        for (int i = to - 1; i > from; i--)
        {
            int j = rng.Next(from, i + 1);
            (indices[i], indices[j]) = (indices[j], indices[i]);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static void AssertBits(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}[{i}]: {expected[i]:R} in one pass, {actual[i]:R} in passes.");
    }
}
