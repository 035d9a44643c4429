using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SaeGpu.Kernels;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// The int8 screen's two facts that exact selection rests on — every int8 kernel's dots are exact, and the bound holds for
/// every pre-activation CpuGemm computes (odd widths, zero rows, single outlier columns, huge and tiny scales) — and the
/// result: the screened fused encode gives the fp32 path's codes bit for bit.
/// </summary>
public class Int8ScreenTests
{
    private static readonly int[] Widths = [1, 7, 31, 32, 33, 64, 100, 384, 771];

    /// <summary>The kernels this CPU runs (scalar always; AVX-VNNI and AVX-512BW where present).</summary>
    public static TheoryData<string> Kernels() => [.. Enum.GetValues<Int8Kernel>().Where(Int8Screen.IsSupported).Select(k => k.ToString())];

    [Theory]
    [MemberData(nameof(Kernels))]
    public void DotTile_EqualsTheScalarDots_OnEveryEdge(string kernelName)
    {
        var kernel = Enum.Parse<Int8Kernel>(kernelName);
        var levels = Int8Screen.LevelsOf(kernel);
        Prop.ForAll(Gen.Elements(Widths).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, seed) =>
        {
            var rng = new Random(seed);
            int b = rng.Next(1, 11), f = rng.Next(1, 11), r0 = rng.Next(b), c0 = rng.Next(f), width = Int8Screen.PaddedWidth(d);
            sbyte[] x = Bytes(rng, b * d, levels.X), w = Bytes(rng, f * d, levels.W);
            var (xPadded, wPadded) = (new byte[b * width], new sbyte[f * width]);
            for (int r = 0; r < b; r++)
                for (int i = 0; i < d; i++) xPadded[r * width + i] = (byte)(x[r * d + i] + levels.X + 1);
            for (int c = 0; c < f; c++) w.AsSpan(c * d, d).CopyTo(wPadded.AsSpan(c * width));
            int[] sums = [.. Enumerable.Range(0, f).Select(j => w.AsSpan(j * d, d).ToArray().Sum(v => v))];
            var tile = new int[(b - r0) * (f - c0)];
            unsafe
            {
                fixed (byte* px = xPadded) fixed (sbyte* pw = wPadded) fixed (int* ps = sums) fixed (int* pt = tile)
                    Int8Screen.DotTile(kernel, px, pw, ps, levels.X + 1, width, r0, b, c0, f, pt, f - c0);
            }
            for (int r = r0; r < b; r++)
                for (int c = c0; c < f; c++)
                    Assert.Equal(Int8Screen.DotReference(x.AsSpan(r * d, d), w.AsSpan(c * d, d)), tile[(r - r0) * (f - c0) + c - c0]);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void DotTile_AtTheExtremes_DoesNotSaturate()
    {
        foreach (var kernel in Enum.GetValues<Int8Kernel>().Where(Int8Screen.IsSupported))
        {
            var (lx, lw) = Int8Screen.LevelsOf(kernel);
            const int d = 256;
            foreach (int sign in (int[])[1, -1])
            {
                var x = Enumerable.Repeat((byte)(2 * lx + 1), d).ToArray(); // q = +lx everywhere: the largest unsigned byte
                var w = Enumerable.Repeat((sbyte)(sign * lw), d).ToArray();
                int[] sums = [sign * lw * d];
                var dot = new int[1];
                unsafe
                {
                    fixed (byte* px = x) fixed (sbyte* pw = w) fixed (int* ps = sums) fixed (int* pt = dot)
                        Int8Screen.DotTile(kernel, px, pw, ps, lx + 1, d, 0, 1, 0, 1, pt, 1);
                }
                Assert.Equal(sign * lx * lw * d, dot[0]);
            }
        }
    }

    [Property(MaxTest = 200)]
    public Property Bound_CoversEveryFp32PreActivation() =>
        Prop.ForAll(Gen.Elements(Widths).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, seed) =>
        {
            var rng = new Random(seed);
            int levelsX = rng.Next(2) == 0 ? 127 : 63, levelsW = rng.Next(2) == 0 ? 127 : 63;
            const int b = 6, f = 10;
            float[] x = Rows(rng, b, d), w = Rows(rng, f, d), bias = [.. Enumerable.Range(0, f).Select(_ => (float)(rng.NextDouble() - 0.5))];
            var pre = new float[b * f];
            Encode.Cpu(x, new float[d], w, bias, pre);
            var (qx, sx, nx) = Quantized(x, d, levelsX);
            var (qw, sw, nw) = Quantized(w, d, levelsW);
            for (int r = 0; r < b; r++)
                for (int j = 0; j < f; j++)
                {
                    int dot = Int8Screen.DotReference(qx.AsSpan(r * d, d), qw.AsSpan(j * d, d));
                    var (approx, bound) = Int8Screen.Estimate(dot, sx[r], nx[r], sw[j], nw[j], bias[j], d);
                    Assert.True(Math.Abs(pre[r * f + j] - approx) <= bound, $"d={d} row {r} latent {j}: fp32 {pre[r * f + j]}, approx {approx}, bound {bound}");
                }
        });

    // The vectorized quantizer the screen runs: the reference's scale; every q within the levels and within one of the
    // reference's (they may differ at half-way points); each residual at most half a step (plus the reciprocal's
    // rounding) where the scale is a normal float (a subnormal scale is too coarse: entries clamp at ±L, as in the
    // reference); norms equal, to 1e-12, to those recomputed from the q it wrote; subnormal rows (× 2^-140) included.
    [Property(MaxTest = 300)]
    public Property QuantizeRowCpu_IsAValidQuantization_WithTheNormsOfItsOwnQ() =>
        Prop.ForAll(Gen.Elements(Widths).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, seed) =>
        {
            var rng = new Random(seed);
            int levels = rng.Next(2) == 0 ? 127 : 63;
            float[] v = NonFinite(Rows(rng, 1, d), rng);
            if (rng.Next(10) == 0) v = [.. v.Select(x => MathF.ScaleB(x, -140))];
            var (q, reference) = (new sbyte[d], new sbyte[d]);
            var (s, n) = Int8Screen.QuantizeRowCpu(v, levels, q);
            var (sRef, _) = Int8Screen.QuantizeRow(v, levels, reference);
            Assert.Equal(BitConverter.SingleToInt32Bits(sRef), BitConverter.SingleToInt32Bits(s));
            if (float.IsNaN(s))
            {
                Assert.All(q, x => Assert.Equal(0, x));
                Assert.True(double.IsNaN(n.Full) && double.IsNaN(n.Residual) && double.IsNaN(n.Quantized));
                return;
            }
            double full = 0, residual = 0, quantized = 0;
            for (int i = 0; i < d; i++)
            {
                Assert.InRange(q[i], -levels, levels);
                Assert.InRange(q[i] - reference[i], -1, 1);
                double approx = (double)s * q[i], e = v[i] - approx;
                if (float.IsNormal(s)) Assert.True(Math.Abs(e) <= 0.5001 * s, $"d={d} entry {i}: v {v[i]}, q {q[i]}, scale {s}");
                (full, residual, quantized) = (full + (double)v[i] * v[i], residual + e * e, quantized + approx * approx);
            }
            foreach (var (actual, expected) in new[] { (n.Full, Math.Sqrt(full)), (n.Residual, Math.Sqrt(residual)), (n.Quantized, Math.Sqrt(quantized)) })
                Assert.True(Math.Abs(actual - expected) <= 1e-12 * expected, $"d={d}: norm {actual}, recomputed {expected}");
        });

    // The bound is useful, not just safe: on uniform rows it is under 2 % of ‖x̃‖‖w‖ with 127 levels (about 1/127 of each
    // factor) and under 4 % with 63.
    [Theory]
    [InlineData(127, 0.02)]
    [InlineData(63, 0.04)]
    public void Bound_OnUniformRows_IsAFewPercentOfTheNormProduct(int levels, double most)
    {
        var rng = new Random(5);
        const int d = 384;
        float[] x = [.. Enumerable.Range(0, 4 * d).Select(_ => (float)(rng.NextDouble() * 2 - 1))], w = [.. Enumerable.Range(0, 8 * d).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        var (qx, sx, nx) = Quantized(x, d, levels);
        var (qw, sw, nw) = Quantized(w, d, levels);
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 8; j++)
            {
                var (_, bound) = Int8Screen.Estimate(Int8Screen.DotReference(qx.AsSpan(r * d, d), qw.AsSpan(j * d, d)), sx[r], nx[r], sw[j], nw[j], 0f, d);
                Assert.InRange(bound / (nx[r].Full * nw[j].Full), 1e-4, most);
            }
    }

    // Exact selection through the screen, on every kernel this CPU runs: the same codes as the fp32 fused path, bit for
    // bit, for TopK and AbsTopK, with and without a mask and top-AFA targets; k from 1 to F; F past the 64-latent tile;
    // discrete values (ties), zero rows, outliers, scales 2^±20, and rows or latents holding NaN or ±Inf.
    [Theory]
    [MemberData(nameof(Kernels))]
    public void EncodeTopKScreened_EqualsEncodeTopKCpu_BitForBit(string kernelName)
    {
        var kernel = Enum.Parse<Int8Kernel>(kernelName);
        Prop.ForAll(Gen.Elements(Widths).ToArbitrary(), Gen.Elements(1, 5, 63, 64, 65, 130, 300).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, f, seed) =>
        {
            var rng = new Random(seed);
            int b = rng.Next(1, 9) * (rng.Next(4) == 0 ? 9 : 1), k = rng.Next(3) switch { 0 => 1, 1 => f, _ => rng.Next(1, Math.Min(f, 40) + 1) };
            bool absolute = rng.Next(2) == 0;
            var shape = new Shape(b, d, f, k, seed);
            float[] x = NonFinite(Rows(rng, b, d), rng), bDec = shape.Values(d, 1), w = NonFinite(Ties(shape.Values(f * d, 2), Rows(rng, f, d), rng), rng), bEnc = shape.Values(f, 3);
            int[] mask = rng.Next(3) == 0 ? [.. Enumerable.Range(0, f).Select(_ => rng.Next(4) == 0 ? 0 : 1)] : [];
            float[] targets = rng.Next(3) == 0 ? [.. Enumerable.Range(0, b).Select(_ => (float)rng.NextDouble() * 3)] : [];
            var expected = Codes(b, k);
            EncodeTopK.Cpu(x, bDec, w, bEnc, mask, k, absolute, targets, expected.Offsets, expected.Indices, expected.Values);
            var screened = Codes(b, k);
            EncodeTopK.Cpu(x, bDec, w, bEnc, mask, k, absolute, targets, screened.Offsets, screened.Indices, screened.Values, kernel);
            int n = expected.Offsets[b];
            Assert.Equal(expected.Offsets, screened.Offsets);
            Assert.Equal(expected.Indices[..n], screened.Indices[..n]);
            Assert.Equal(expected.Values[..n].Select(BitConverter.SingleToInt32Bits), screened.Values[..n].Select(BitConverter.SingleToInt32Bits));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(120));
    }

    // One time in eight, one element becomes NaN, +Inf or −Inf.
    private static float[] NonFinite(float[] v, Random rng)
    {
        if (rng.Next(8) == 0) v[rng.Next(v.Length)] = rng.Next(3) switch { 0 => float.NaN, 1 => float.PositiveInfinity, _ => float.NegativeInfinity };
        return v;
    }

    private static (int[] Offsets, int[] Indices, float[] Values) Codes(int b, int k) => (new int[b + 1], new int[b * k], new float[b * k]);

    // Half the time W_enc holds discrete values (many exact ties between latents), else scaled rows with outliers.
    private static float[] Ties(float[] discrete, float[] scaled, Random rng) => rng.Next(2) == 0 ? discrete : scaled;

    [Fact]
    public void QuantizeRows_GivesAZeroRowScaleZero_AndANonFiniteRowScaleNaN()
    {
        float[] rows = [0, 0, 0, 1, float.NaN, 2];
        var (q, s, norms) = Quantized(rows, 3, 127);
        Assert.Equal((0f, 0.0), (s[0], norms[0].Residual));
        Assert.True(float.IsNaN(s[1]));
        Assert.All(q, v => Assert.Equal(0, v));
    }

    private static (sbyte[] Q, float[] Scale, RowNorms[] Norms) Quantized(float[] rows, int d, int levels)
    {
        int n = rows.Length / d;
        var (q, s, norms) = (new sbyte[rows.Length], new float[n], new RowNorms[n]);
        Int8Screen.QuantizeRows(rows, d, levels, q, s, norms);
        return (q, s, norms);
    }

    private static sbyte[] Bytes(Random rng, int n, int levels) => [.. Enumerable.Range(0, n).Select(_ => (sbyte)rng.Next(-levels, levels + 1))];

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
