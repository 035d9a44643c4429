using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class ScaleColumns
{
    /// <summary>One thread per element.</summary>
    public static void GpuV1(Index1D q, ArrayView<float> input, ArrayView<float> scale, ArrayView<float> center, ArrayView<float> output, int f)
    {
        int j = (int)(q % f);
        output[q] = scale[j] * (input[q] - center[j]);
    }
}
