using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class TanhPenaltyGrad
{
    /// <summary>One thread per element.</summary>
    public static void GpuV1(Index1D e, ArrayView<float> values, ArrayView<float> gValues, float weight, float scale)
    {
        gValues[e] += weight * scale * Sech2(scale * values[e]);
    }
}
