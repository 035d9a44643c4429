using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class NormalizeRows
{
    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 32-thread warp per row.</summary>
    public static KernelConfig GpuConfig(int f) => new(f, 32);

    /// <summary>One warp per row: shuffle-reduced squared norm, then a strided scale.</summary>
    public static void GpuV1(ArrayView<float> w, int d)
    {
        int lane = Group.IdxX;
        long o = (long)Grid.IdxX * d;
        float nn = 0f;
        for (int i = lane; i < d; i += 32) nn += w[o + i] * w[o + i];
        nn = GpuMath.WarpSum(nn);
        if (nn != 0f)
        {
            float inv = 1f / MathF.Sqrt(nn);
            for (int i = lane; i < d; i += 32) w[o + i] *= inv;
        }
    }
}
