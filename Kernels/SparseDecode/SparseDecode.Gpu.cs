using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class SparseDecode
{
    /// <summary>One thread per output element (b, i); consecutive threads read consecutive columns of each W row.</summary>
    public static void GpuV1(Index1D e, ArrayView<int> offsets, ArrayView<int> indices, ArrayView<float> values,
        ArrayView<float> w, ArrayView<float> bias, ArrayView<float> output, int d)
    {
        int r = (int)(e / d), i = (int)(e % d);
        float acc = bias[i];
        for (int p = offsets[r]; p < offsets[r + 1]; p++) acc += values[p] * w[(long)indices[p] * d + i];
        output[e] = acc;
    }
}
