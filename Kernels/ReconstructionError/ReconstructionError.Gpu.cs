using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class ReconstructionError
{
    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 32-thread warp per row.</summary>
    public static KernelConfig GpuConfig(int b) => new(b, 32);

    /// <summary>One warp per row: lanes stride over d, then a shuffle reduction gives sse[row].</summary>
    public static void GpuV1(ArrayView<float> x, ArrayView<float> xhat, ArrayView<float> grad, ArrayView<float> sse,
        float scale, int d)
    {
        int r = Grid.IdxX, lane = Group.IdxX;
        long o = (long)r * d;
        float s = 0f;
        for (int i = lane; i < d; i += 32)
        {
            float e = xhat[o + i] - x[o + i];
            grad[o + i] = scale * e;
            s += e * e;
        }
        s = GpuMath.WarpSum(s);
        if (lane == 0) sse[r] = s;
    }
}
