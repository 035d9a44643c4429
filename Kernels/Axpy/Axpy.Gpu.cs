using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class Axpy
{
    /// <summary>One thread per element.</summary>
    public static void GpuV1(Index1D i, ArrayView<float> x, ArrayView<float> y, float alpha)
    {
        y[i] += alpha * x[i];
    }
}
