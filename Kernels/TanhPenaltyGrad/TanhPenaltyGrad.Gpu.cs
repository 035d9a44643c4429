using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class TanhPenaltyGrad
{
    /// <summary>One thread per capacity slot; slots past offsets[B] (the stored entries) do nothing.</summary>
    public static void GpuV1(Index1D e, ArrayView<int> offsets, ArrayView<float> values, ArrayView<float> gValues, float weight, float scale)
    {
        if (e < offsets[offsets.Length - 1]) gValues[e] += weight * scale * Sech2(scale * values[e]);
    }
}
