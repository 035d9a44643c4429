using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class GradientScore
{
    /// <summary>One thread per element.</summary>
    public static void GpuV1(Index1D q, ArrayView<float> pre, ArrayView<float> proj, ArrayView<float> score, float beta)
    {
        score[q] = Math.Max(pre[q], 0f) * (1f + beta * Math.Abs(proj[q]));
    }
}
