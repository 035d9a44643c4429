using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

public static partial class DecoderBiasGrad
{
    /// <summary>Column slices per group of <see cref="GpuV1"/>: group y handles rows/latents y, y + slices, …</summary>
    public const int GpuSlices = 64;

    /// <summary>Launch configuration of <see cref="GpuV1"/> (gbDec must be zeroed first): 2-D grid of column blocks × slices.</summary>
    public static KernelConfig GpuConfig(int d) => new(new Index2D((d + 127) / 128, GpuSlices), new Index2D(128, 1));

    /// <summary>
    /// Each thread owns column i within slice s: it sums gOut[b, i] over rows b ≡ s and subtracts gbEnc[j]·W_enc[j, i]
    /// over latents j ≡ s (mod slices), then adds its partial into gbDec[i] atomically (only d·slices float atomics).
    /// </summary>
    public static void GpuV1(ArrayView<float> gOut, ArrayView<float> gbEnc, ArrayView<float> wEnc, ArrayView<float> gbDec,
        int b, int d, int f)
    {
        int i = Grid.IdxX * 128 + Group.IdxX, s = Grid.IdxY;
        if (i < d)
        {
            float acc = 0f;
            for (int r = s; r < b; r += GpuSlices) acc += gOut[(long)r * d + i];
            for (int j = s; j < f; j += GpuSlices) acc -= gbEnc[j] * wEnc[(long)j * d + i];
            Atomic.Add(ref gbDec[i], acc);
        }
    }
}
