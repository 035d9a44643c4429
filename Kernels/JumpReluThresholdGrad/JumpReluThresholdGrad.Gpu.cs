using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class JumpReluThresholdGrad
{
    /// <summary>Threads per group (one group per latent) of <see cref="GpuV1"/>.</summary>
    public const int GpuGroup = 128;

    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 128-thread group per latent.</summary>
    public static KernelConfig GpuConfig(int f) => new(f, GpuGroup);

    /// <summary>One group per latent: threads stride down the column; in-band rows take a serial dot product; tree reduction.</summary>
    public static void GpuV1(ArrayView<float> pre, ArrayView<float> theta, ArrayView<float> gOut, ArrayView<float> wDec,
        ArrayView<float> gTheta, int b, int d, float eps, float l0Weight, float tanhWeight, float tanhScale)
    {
        var partial = SharedMemory.Allocate<float>(GpuGroup);
        int t = Group.IdxX, j = Grid.IdxX, f = (int)theta.Length;
        float th = theta[j], acc = 0f;
        for (int r = t; r < b; r += GpuGroup)
        {
            if (InBand(pre[(long)r * f + j], th, eps))
            {
                float dot = 0f;
                for (int i = 0; i < d; i++) dot += gOut[(long)r * d + i] * wDec[(long)j * d + i];
                if (tanhWeight != 0) dot += tanhWeight * tanhScale * TanhPenaltyGrad.Sech2(tanhScale * Kept(pre[(long)r * f + j], th));
                acc += (-th * dot - l0Weight) / eps;
            }
        }
        partial[t] = acc;
        Group.Barrier();
        for (int s = GpuGroup / 2; s > 0; s >>= 1)
        {
            if (t < s) partial[t] += partial[t + s];
            Group.Barrier();
        }
        if (t == 0) gTheta[j] = partial[0];
    }
}
