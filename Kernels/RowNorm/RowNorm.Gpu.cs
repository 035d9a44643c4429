using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class RowNorm
{
    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 32-thread warp per row.</summary>
    public static KernelConfig GpuConfig(int b) => new(b, 32);

    /// <summary>One warp per row: strided squares, shuffle reduction, square root.</summary>
    public static void GpuV1(ArrayView<float> x, ArrayView<float> center, ArrayView<float> norms, int d)
    {
        int r = Grid.IdxX, lane = Group.IdxX;
        long o = (long)r * d;
        float s = 0f;
        for (int i = lane; i < d; i += 32) { float c = x[o + i] - center[i]; s += c * c; }
        s = GpuMath.WarpSum(s);
        if (lane == 0) norms[r] = MathF.Sqrt(s);
    }
}
