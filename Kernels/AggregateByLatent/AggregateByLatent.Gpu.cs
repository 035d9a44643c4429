using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class AggregateByLatent
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
    /// After <see cref="GpuFillV1"/>, whose atomics claim slots in scheduling order: one thread per latent insertion-sorts its
    /// segment by entry (carrying the rows), so the sums below run in ascending entry order, as on the CPU, and repeat
    /// bit for bit. Segments hold k·B/F entries on average.
    /// </summary>
    public static void GpuSortV1(Index1D j, ArrayView<int> start, ArrayView<int> entry, ArrayView<int> rowOf)
    {
        int lo = start[j], hi = start[j + 1];
        for (int a = lo + 1; a < hi; a++)
        {
            int e = entry[a], row = rowOf[a], c = a - 1;
            while (c >= lo && entry[c] > e)
            {
                entry[c + 1] = entry[c];
                rowOf[c + 1] = rowOf[c];
                c--;
            }
            entry[c + 1] = e;
            rowOf[c + 1] = row;
        }
    }

    /// <summary>
    /// Step 4 of 4: one thread per weight-gradient element (j, i), summing its latent's entries in ascending entry order
    /// (see <see cref="GpuSortV1"/>); consecutive threads read consecutive columns of v.
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
