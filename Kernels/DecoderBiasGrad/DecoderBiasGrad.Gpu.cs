using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class DecoderBiasGrad
{
    /// <summary>Column slices per group of <see cref="GpuV1"/>: group y handles rows/latents y, y + slices, …</summary>
    public const int GpuSlices = 64;

    /// <summary>Launch configuration of <see cref="GpuV1"/>: 2-D grid of column blocks × slices.</summary>
    public static KernelConfig GpuConfig(int d) => new(new Index2D((d + 127) / 128, GpuSlices), new Index2D(128, 1));

    /// <summary>Launch configuration of <see cref="GpuReduceV1"/>: one thread per column.</summary>
    public static KernelConfig GpuReduceConfig(int d) => new((d + 127) / 128, 128);

    /// <summary>
    /// Step 1 of 2: each thread owns column i within slice s: it sums gOut[b, i] over rows b ≡ s and subtracts
    /// gbEnc[j]·W_enc[j, i] over latents j ≡ s (mod slices) into partial[s, i] ([slices, d] scratch).
    /// </summary>
    public static void GpuV1(ArrayView<float> gOut, ArrayView<float> gbEnc, ArrayView<float> wEnc, ArrayView<float> partial,
        int b, int d, int f)
    {
        int i = Grid.IdxX * 128 + Group.IdxX, s = Grid.IdxY;
        if (i < d)
        {
            float acc = 0f;
            for (int r = s; r < b; r += GpuSlices) acc += gOut[(long)r * d + i];
            for (int j = s; j < f; j += GpuSlices) acc -= gbEnc[j] * wEnc[(long)j * d + i];
            partial[(long)s * d + i] = acc;
        }
    }

    /// <summary>Step 2 of 2: gbDec[i] = Σ_s partial[s, i] in slice order — no float atomics, so results repeat bit for bit.</summary>
    public static void GpuReduceV1(ArrayView<float> partial, ArrayView<float> gbDec, int d)
    {
        int i = Grid.IdxX * 128 + Group.IdxX;
        if (i < d)
        {
            float acc = 0f;
            for (int s = 0; s < GpuSlices; s++) acc += partial[(long)s * d + i];
            gbDec[i] = acc;
        }
    }
}
