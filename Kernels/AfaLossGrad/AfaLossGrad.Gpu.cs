using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class AfaLossGrad
{
    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 32-thread warp per row.</summary>
    public static KernelConfig GpuConfig(int b) => new(b, 32);

    /// <summary>One warp per row: shuffle-reduced ‖a_b‖², then a strided update of the row's value gradients.</summary>
    public static void GpuV1(ArrayView<int> offsets, ArrayView<float> values, ArrayView<float> targets, ArrayView<float> gValues,
        float coefficient)
    {
        int r = Grid.IdxX, lane = Group.IdxX, b = (int)targets.Length;
        int lo = offsets[r], hi = offsets[r + 1];
        float nn = 0f;
        for (int p = lo + lane; p < hi; p += 32) nn += values[p] * values[p];
        nn = GpuMath.WarpSum(nn);
        if (nn != 0f)
        {
            float norm = MathF.Sqrt(nn), c = coefficient * 2f / b * (norm - targets[r]) / norm;
            for (int p = lo + lane; p < hi; p += 32) gValues[p] += c * values[p];
        }
    }
}
