using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class RowDot
{
    /// <summary>One thread per row, a serial dot product over d.</summary>
    public static void GpuV1(Index1D j, ArrayView<float> a, ArrayView<float> b, ArrayView<float> output, int d)
    {
        long row = (long)j.X * d;
        float s = 0f;
        for (int i = 0; i < d; i++) s += a[row + i] * b[row + i];
        output[j] = s;
    }
}
