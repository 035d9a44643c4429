using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class RemoveParallelGrad
{
    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 32-thread warp per row.</summary>
    public static KernelConfig GpuConfig(int f) => new(f, 32);

    /// <summary>One warp per row: two shuffle-reduced dot products, then a strided update.</summary>
    public static void GpuV1(ArrayView<float> w, ArrayView<float> g, int d, int parallelOnly)
    {
        int lane = Group.IdxX;
        long o = (long)Grid.IdxX * d;
        float dot = 0f, nn = 0f;
        for (int i = lane; i < d; i += 32) { dot += g[o + i] * w[o + i]; nn += w[o + i] * w[o + i]; }
        dot = GpuMath.WarpSum(dot);
        nn = GpuMath.WarpSum(nn);
        float c = nn != 0f ? dot / nn : 0f;
        for (int i = lane; i < d; i += 32) g[o + i] = parallelOnly != 0 ? c * w[o + i] : g[o + i] - c * w[o + i];
    }
}
