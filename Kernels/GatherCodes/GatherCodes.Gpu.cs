using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class GatherCodes
{
    /// <summary>One thread per entry slot; slots past offsets[B] are left alone; the row comes from a binary search.</summary>
    public static void GpuV1(Index1D p, ArrayView<int> offsets, ArrayView<int> indices, ArrayView<float> pre, ArrayView<float> values, int f)
    {
        if (p < offsets[offsets.Length - 1]) values[p] = pre[(long)GpuMath.RowOf(offsets, p) * f + indices[p]];
    }
}
