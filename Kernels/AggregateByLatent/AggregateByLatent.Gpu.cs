using ILGPU;

namespace SaeGpu.Kernels;

public static partial class AggregateByLatent
{
    /// <summary>
    /// Step 1 of 4 on the GPU (counts and cursor zeroed by the caller): one thread per entry slot, latent histogram by
    /// integer atomics (atomics touch only counters, never weights). Slots at or past offsets[B] are idle.
    /// </summary>
    public static void GpuHistogramV1(Index1D p, ArrayView<int> offsets, ArrayView<int> indices, ArrayView<int> counts)
    {
        if (p < offsets[offsets.Length - 1]) Atomic.Add(ref counts[indices[p]], 1);
    }

    /// <summary>
    /// Step 3 of 4 (after <see cref="ExclusiveScan"/> turned counts into start [F+1]): one thread per entry claims a
    /// slot of its latent's range and records the entry and its row there.
    /// </summary>
    public static void GpuFillV1(Index1D p, ArrayView<int> offsets, ArrayView<int> indices, ArrayView<int> start,
        ArrayView<int> cursor, ArrayView<int> entry, ArrayView<int> rowOf)
    {
        if (p < offsets[offsets.Length - 1])
        {
            int j = indices[p];
            int q = start[j] + Atomic.Add(ref cursor[j], 1);
            entry[q] = p;
            rowOf[q] = GpuMath.RowOf(offsets, p);
        }
    }

    /// <summary>
    /// Step 4 of 4: one thread per weight-gradient element (j, i), summing its latent's entries in a fixed order
    /// given by the index; consecutive threads read consecutive columns of v.
    /// </summary>
    public static void GpuSumV1(Index1D e, ArrayView<int> start, ArrayView<int> entry, ArrayView<int> rowOf,
        ArrayView<float> g, ArrayView<float> v, ArrayView<float> center, ArrayView<float> gW, int d, int accumulate)
    {
        int j = (int)(e / d), i = (int)(e % d);
        float acc = 0f, s = 0f;
        for (int q = start[j]; q < start[j + 1]; q++)
        {
            float gp = g[entry[q]];
            s += gp;
            acc += gp * v[(long)rowOf[q] * d + i];
        }
        gW[e] = (accumulate != 0 ? gW[e] : 0f) + acc - s * center[i];
    }

    /// <summary>Bias part: one thread per latent, gSum[j] = Σ g over its entries.</summary>
    public static void GpuBiasV1(Index1D j, ArrayView<int> start, ArrayView<int> entry, ArrayView<float> g, ArrayView<float> gSum, int accumulate)
    {
        float s = accumulate != 0 ? gSum[j] : 0f;
        for (int q = start[j]; q < start[j + 1]; q++) s += g[entry[q]];
        gSum[j] = s;
    }
}
