using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class ValueGrad
{
    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 32-thread warp per row.</summary>
    public static KernelConfig GpuConfig(int b) => new(b, 32);

    /// <summary>One warp per row; for each of the row's entries the lanes stride over d and shuffle-reduce the dot product.</summary>
    public static void GpuV1(ArrayView<int> offsets, ArrayView<int> indices, ArrayView<float> gOut, ArrayView<float> w,
        ArrayView<float> gValues, int d, float shift)
    {
        int r = Grid.IdxX, lane = Group.IdxX;
        long o = (long)r * d;
        for (int p = offsets[r]; p < offsets[r + 1]; p++)
        {
            long wo = (long)indices[p] * d;
            float s = 0f;
            for (int i = lane; i < d; i += 32) s += gOut[o + i] * w[wo + i];
            s = GpuMath.WarpSum(s);
            if (lane == 0) gValues[p] = s + shift;
        }
    }
}
