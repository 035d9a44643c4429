using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SaeGpu.Kernels;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// The int8 screen's two facts that exact selection will rest on: the VNNI int8 dot is exact, and the bound holds for
/// every pre-activation CpuGemm computes — on odd widths, zero rows, single outlier columns, and huge and tiny scales.
/// </summary>
public class Int8ScreenTests
{
    private static readonly int[] Widths = [1, 7, 31, 32, 33, 64, 100, 384, 771];

    [Property(MaxTest = 200)]
    public Property DotCpu_EqualsTheScalarDot() =>
        Prop.ForAll(Gen.Elements(Widths).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, seed) =>
        {
            var rng = new Random(seed);
            sbyte[] a = Bytes(rng, d), b = Bytes(rng, d);
            var offset = new byte[d];
            Int8Screen.Offset(a, offset);
            Assert.Equal(Int8Screen.DotReference(a, b), Int8Screen.DotCpu(offset, b, Int8Screen.Sum(b)));
        });

    [Property(MaxTest = 100)]
    public Property DotTile_EqualsTheScalarDots_OnEveryEdge() =>
        Prop.ForAll(Gen.Elements(Widths).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, seed) =>
        {
            var rng = new Random(seed);
            int b = rng.Next(1, 11), f = rng.Next(1, 11), r0 = rng.Next(b), c0 = rng.Next(f);
            sbyte[] x = Bytes(rng, b * d), w = Bytes(rng, f * d);
            var xOffset = new byte[b * d];
            Int8Screen.Offset(x, xOffset);
            int[] sums = [.. Enumerable.Range(0, f).Select(j => Int8Screen.Sum(w.AsSpan(j * d, d)))];
            var tile = new int[(b - r0) * (f - c0)];
            unsafe
            {
                fixed (byte* px = xOffset) fixed (sbyte* pw = w) fixed (int* ps = sums) fixed (int* pt = tile)
                    Int8Screen.DotTile(px, pw, ps, d, r0, b, c0, f, pt, f - c0);
            }
            for (int r = r0; r < b; r++)
                for (int c = c0; c < f; c++)
                    Assert.Equal(Int8Screen.DotReference(x.AsSpan(r * d, d), w.AsSpan(c * d, d)), tile[(r - r0) * (f - c0) + c - c0]);
        });

    [Property(MaxTest = 200)]
    public Property Bound_CoversEveryFp32PreActivation() =>
        Prop.ForAll(Gen.Elements(Widths).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, seed) =>
        {
            var rng = new Random(seed);
            const int b = 6, f = 10;
            float[] x = Rows(rng, b, d), w = Rows(rng, f, d), bias = [.. Enumerable.Range(0, f).Select(_ => (float)(rng.NextDouble() - 0.5))];
            var pre = new float[b * f];
            Encode.Cpu(x, new float[d], w, bias, pre);
            var (qx, sx, nx) = Quantized(x, d);
            var (qw, sw, nw) = Quantized(w, d);
            for (int r = 0; r < b; r++)
                for (int j = 0; j < f; j++)
                {
                    int dot = Int8Screen.DotReference(qx.AsSpan(r * d, d), qw.AsSpan(j * d, d));
                    var (approx, bound) = Int8Screen.Estimate(dot, sx[r], nx[r], sw[j], nw[j], bias[j], d);
                    Assert.True(Math.Abs(pre[r * f + j] - approx) <= bound, $"d={d} row {r} latent {j}: fp32 {pre[r * f + j]}, approx {approx}, bound {bound}");
                }
        });

    // The bound is useful, not just safe: on uniform rows it is under 2 % of ‖x̃‖‖w‖ (about 1/127 of each factor).
    [Fact]
    public void Bound_OnUniformRows_IsAFewPercentOfTheNormProduct()
    {
        var rng = new Random(5);
        const int d = 384;
        float[] x = [.. Enumerable.Range(0, 4 * d).Select(_ => (float)(rng.NextDouble() * 2 - 1))], w = [.. Enumerable.Range(0, 8 * d).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        var (qx, sx, nx) = Quantized(x, d);
        var (qw, sw, nw) = Quantized(w, d);
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 8; j++)
            {
                var (_, bound) = Int8Screen.Estimate(Int8Screen.DotReference(qx.AsSpan(r * d, d), qw.AsSpan(j * d, d)), sx[r], nx[r], sw[j], nw[j], 0f, d);
                Assert.InRange(bound / (nx[r].Full * nw[j].Full), 1e-4, 0.02);
            }
    }

    // Exact selection through the screen: the same codes as the fp32 fused path, bit for bit, for TopK and AbsTopK, with
    // and without a mask and top-AFA targets; k from 1 to F; discrete values (ties), zero rows, outliers, scales 2^±20.
    [Property(MaxTest = 150)]
    public Property EncodeTopKScreened_EqualsEncodeTopKCpu_BitForBit() =>
        Prop.ForAll(Gen.Elements(Widths).ToArbitrary(), Gen.Elements(1, 5, 63, 64, 65, 130).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, f, seed) =>
        {
            var rng = new Random(seed);
            int b = rng.Next(1, 9), k = rng.Next(3) switch { 0 => 1, 1 => f, _ => rng.Next(1, f + 1) };
            bool absolute = rng.Next(2) == 0;
            var shape = new Shape(b, d, f, k, seed);
            float[] x = Rows(rng, b, d), bDec = shape.Values(d, 1), w = Ties(shape.Values(f * d, 2), Rows(rng, f, d), rng), bEnc = shape.Values(f, 3);
            int[] mask = rng.Next(3) == 0 ? [.. Enumerable.Range(0, f).Select(_ => rng.Next(4) == 0 ? 0 : 1)] : [];
            float[] targets = rng.Next(3) == 0 ? [.. Enumerable.Range(0, b).Select(_ => (float)rng.NextDouble() * 3)] : [];
            var expected = Codes(b, k);
            EncodeTopK.Cpu(x, bDec, w, bEnc, mask, k, absolute, targets, expected.Offsets, expected.Indices, expected.Values);
            var screened = Codes(b, k);
            EncodeTopK.CpuScreened(x, bDec, w, bEnc, mask, k, absolute, targets, screened.Offsets, screened.Indices, screened.Values);
            int n = expected.Offsets[b];
            Assert.Equal(expected.Offsets, screened.Offsets);
            Assert.Equal(expected.Indices[..n], screened.Indices[..n]);
            Assert.Equal(expected.Values[..n].Select(BitConverter.SingleToInt32Bits), screened.Values[..n].Select(BitConverter.SingleToInt32Bits));
        });

    private static (int[] Offsets, int[] Indices, float[] Values) Codes(int b, int k) => (new int[b + 1], new int[b * k], new float[b * k]);

    // Half the time W_enc holds discrete values (many exact ties between latents), else scaled rows with outliers.
    private static float[] Ties(float[] discrete, float[] scaled, Random rng) => rng.Next(2) == 0 ? discrete : scaled;

    [Fact]
    public void QuantizeRows_GivesAZeroRowScaleZero_AndANonFiniteRowScaleNaN()
    {
        float[] rows = [0, 0, 0, 1, float.NaN, 2];
        var (q, s, norms) = Quantized(rows, 3);
        Assert.Equal((0f, 0.0), (s[0], norms[0].Residual));
        Assert.True(float.IsNaN(s[1]));
        Assert.All(q, v => Assert.Equal(0, v));
    }

    private static (sbyte[] Q, float[] Scale, RowNorms[] Norms) Quantized(float[] rows, int d)
    {
        int n = rows.Length / d;
        var (q, s, norms) = (new sbyte[rows.Length], new float[n], new RowNorms[n]);
        Int8Screen.QuantizeRows(rows, d, q, s, norms);
        return (q, s, norms);
    }

    private static sbyte[] Bytes(Random rng, int n) => [.. Enumerable.Range(0, n).Select(_ => (sbyte)rng.Next(-Int8Screen.Levels, Int8Screen.Levels + 1))];

    // Rows with a random scale over 2^±20, some zero rows, some with one outlier column 1000× the rest.
    private static float[] Rows(Random rng, int n, int d)
    {
        var v = new float[n * d];
        for (int r = 0; r < n; r++)
        {
            int kind = rng.Next(6);
            if (kind == 0) continue;
            float scale = MathF.Pow(2, rng.Next(-20, 21));
            for (int i = 0; i < d; i++) v[r * d + i] = scale * (float)(rng.NextDouble() * 2 - 1);
            if (kind == 1) v[r * d + rng.Next(d)] *= 1000;
        }
        return v;
    }
}
