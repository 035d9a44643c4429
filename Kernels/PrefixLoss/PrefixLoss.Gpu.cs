using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class PrefixLoss
{
    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 32-thread warp per row.</summary>
    public static KernelConfig GpuConfig(int b) => new(b, 32);

    /// <summary>
    /// One warp per row. Each lane owns the columns i ≡ lane (mod 32) of the row's gGroup block, so the three sweeps need
    /// no barrier: (1) per group, e_g[i] = e_{g−1}[i] + Σ_{p in g} values[p]·W[indices[p], i] (coalesced W reads, index and
    /// value broadcast), sse by a shuffle reduction; (2) suffix sums G_g = c_g e_g + G_{g+1} in place; (3) per entry, the
    /// shuffle-reduced dot ⟨G_g, W[j]⟩. The last row's lane 0 writes groupOffsets[B·n].
    /// </summary>
    public static void GpuV1(ArrayView<int> offsets, ArrayView<int> indices, ArrayView<float> values, ArrayView<float> w,
        ArrayView<float> bias, ArrayView<float> x, ArrayView<int> ends, ArrayView<float> coefficients,
        ArrayView<int> groupOffsets, ArrayView<float> gGroup, ArrayView<float> gOut, ArrayView<float> gValues,
        ArrayView<float> sse)
    {
        int r = Grid.IdxX, lane = Group.IdxX, d = (int)bias.Length, n = (int)ends.Length;
        long xo = (long)r * d, blockBase = (long)r * n * d;
        int p = offsets[r], end = offsets[r + 1];
        for (int g = 0; g < n; g++)
        {
            int start = p;
            while (p < end && indices[p] < ends[g]) p++;
            if (lane == 0) groupOffsets[r * n + g] = start;
            long eo = blockBase + (long)g * d;
            float s = 0f;
            for (int i = lane; i < d; i += 32)
            {
                float acc = g == 0 ? bias[i] - x[xo + i] : gGroup[eo - d + i];
                for (int q = start; q < p; q++) acc += values[q] * w[(long)indices[q] * d + i];
                gGroup[eo + i] = acc;
                s += acc * acc;
            }
            s = GpuMath.WarpSum(s);
            if (lane == 0) sse[r * n + g] = s;
        }
        for (int i = lane; i < d; i += 32)
        {
            float acc = 0f;
            for (int g = n - 1; g >= 0; g--)
            {
                long o = blockBase + (long)g * d + i;
                acc = coefficients[g] * gGroup[o] + acc;
                gGroup[o] = acc;
            }
            gOut[xo + i] = acc;
        }
        for (int g = 0, q = offsets[r]; g < n; g++)
        {
            long go = blockBase + (long)g * d;
            for (; q < end && indices[q] < ends[g]; q++)
            {
                long wo = (long)indices[q] * d;
                float s = 0f;
                for (int i = lane; i < d; i += 32) s += gGroup[go + i] * w[wo + i];
                s = GpuMath.WarpSum(s);
                if (lane == 0) gValues[q] = s;
            }
        }
        if (r == Grid.DimX - 1 && lane == 0) groupOffsets[(long)Grid.DimX * n] = end;
    }
}
