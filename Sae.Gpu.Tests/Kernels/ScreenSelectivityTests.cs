using SaeGpu.Kernels;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// The screen is selective, not only exact: on random rows it computes the fp32 value of a small share of the latents
/// (<see cref="EncodeTopK.ScreenCounts"/>, the counter behind the admitted fractions in docs/benchmarks.md). The counter is
/// process-wide, so this class runs alone (no other test's screened encodes in between).
/// </summary>
[Collection(nameof(ScreenSelectivityTests))]
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
        EncodeTopK.ScreenCounts.Take();
        EncodeTopK.Cpu(x, new float[d], w, new float[f], [], k, false, [], offsets, indices, values, Int8Kernel.Scalar);
        var (admitted, screened) = EncodeTopK.ScreenCounts.Take();
        Assert.Equal((long)b * f, screened);
        Assert.InRange((double)admitted / screened, (double)k / f, 0.05);
    }
}

[CollectionDefinition(nameof(ScreenSelectivityTests), DisableParallelization = true)]
public sealed class ScreenSelectivityCollection;
