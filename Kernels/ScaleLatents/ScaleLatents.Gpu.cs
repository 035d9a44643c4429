using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class ScaleLatents
{
    /// <summary>One thread per capacity slot; slots past offsets[B] (the stored entries) do nothing.</summary>
    public static void GpuV1(Index1D e, ArrayView<int> offsets, ArrayView<int> indices, ArrayView<float> scale, ArrayView<float> center,
        ArrayView<float> values)
    {
        if (e < offsets[offsets.Length - 1])
        {
            int j = indices[e];
            values[e] = scale[j] * (values[e] - center[j]);
        }
    }
}
