using SaeGpu.Kernels;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// The screen is selective, not only exact: on random rows it computes the fp32 value of a small share of the latents
/// (<see cref="EncodeTopK.ScreenTally"/>, the count behind the admitted fractions in docs/benchmarks.md).
/// </summary>
public class ScreenSelectivityTests
{
    [Fact]
    public void Screen_OnRandomRows_AdmitsAFewPercentOfTheLatents()
    {
        const int d = 256, f = 4096, k = 8, b = 64;
        var rng = new Random(3);
        float[] x = [.. Enumerable.Range(0, b * d).Select(_ => (float)rng.NextDouble() - 0.5f)];
        float[] w = [.. Enumerable.Range(0, f * d).Select(_ => (float)rng.NextDouble() - 0.5f)];
        var (offsets, indices, values) = (new int[b + 1], new int[b * k], new float[b * k]);
        var tally = new EncodeTopK.ScreenTally();
        EncodeTopK.Cpu(x, new float[d], w, new float[f], [], k, false, [], offsets, indices, values, Int8Kernel.Scalar, tally);
        Assert.Equal((long)b * f, tally.Screened);
        Assert.InRange((double)tally.Admitted / tally.Screened, (double)k / f, 0.05);
    }
}
