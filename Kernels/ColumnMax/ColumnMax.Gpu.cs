using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class ColumnMax
{
    /// <summary>One thread per column; consecutive threads read consecutive columns of each row.</summary>
    public static void GpuV1(Index1D j, ArrayView<float> pre, ArrayView<float> max, int b)
    {
        int f = (int)max.Length;
        float m = 0f;
        for (int r = 0; r < b; r++) m = Math.Max(m, pre[(long)r * f + j]);
        max[j] = m;
    }
}
