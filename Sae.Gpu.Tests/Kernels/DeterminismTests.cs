using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>Gradient reductions repeat bit for bit (no order set by atomics or scheduling) on the fast backends.</summary>
public class DeterminismTests
{
    [Theory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void GradientReductions_RepeatBitForBit(string backend)
    {
        var be = TestBackends.ByName(backend);
        var shape = new Shape(33, 17, 65, 5, 123);
        Assert.Equal(OpCases.AggregateByLatent(be, shape), OpCases.AggregateByLatent(be, shape));
        Assert.Equal(OpCases.DecoderBiasGrad(be, shape), OpCases.DecoderBiasGrad(be, shape));
    }
}
