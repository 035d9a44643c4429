using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class MaskLatents
{
    /// <summary>One thread per element.</summary>
    public static void GpuV1(Index1D q, ArrayView<float> pre, ArrayView<int> mask, ArrayView<float> output)
    {
        output[q] = mask[q % (int)mask.Length] != 0 ? pre[q] : 0f;
    }
}
