using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

public static partial class TopK
{
    /// <summary>Threads per group (one group per row) of <see cref="GpuSelectV1"/>.</summary>
    public const int GpuGroup = 256;

    /// <summary>Launch configuration of <see cref="GpuSelectV1"/>: one 256-thread group per row.</summary>
    public static KernelConfig GpuSelectConfig(int b) => new(b, GpuGroup);

    /// <summary>
    /// Step 1 of 3 on the GPU (then <see cref="ExclusiveScan"/> on counts, then <see cref="GpuCompactV1"/>).
    /// One group per row runs k rounds; round r finds, by a strided scan and a shared-memory tree reduction, the first
    /// entry with a positive score (pre, or |pre| when absolute ≠ 0) after the previous winner in the selection order
    /// (score desc, index asc), and writes it (its signed value) to the
    /// padded slot row·k + r. Stops early when no positive entry is left; counts[row] = entries written. With
    /// useTargets ≠ 0 (top-AFA) it also stops where the cumulative norm of the chosen scores best matches targetNorms[row].
    /// </summary>
    public static void GpuSelectV1(ArrayView<float> pre, ArrayView<int> paddedIdx, ArrayView<float> paddedVal,
        ArrayView<int> counts, ArrayView<float> targetNorms, int f, int k, int absolute, int useTargets)
    {
        var sv = SharedMemory.Allocate<float>(GpuGroup);
        var si = SharedMemory.Allocate<int>(GpuGroup);
        int t = Group.IdxX, row = Grid.IdxX;
        long rowStart = (long)row * f;
        float prevV = float.PositiveInfinity;
        int prevI = -1, count = 0;
        bool more = true;
        double c2 = 0.0, target = useTargets != 0 ? targetNorms[row] : 0.0; // double, as in AfaKeep: the choice must not depend on rounding
        for (int r = 0; r < k && more; r++)
        {
            float bestV = 0f;
            int bestI = -1;
            for (int j = t; j < f; j += GpuGroup)
            {
                float v = absolute != 0 ? Math.Abs(pre[rowStart + j]) : pre[rowStart + j];
                if (v > 0f && Csr.Before(prevV, prevI, v, j) && (bestI < 0 || Csr.Before(v, j, bestV, bestI)))
                {
                    bestV = v;
                    bestI = j;
                }
            }
            sv[t] = bestV;
            si[t] = bestI;
            GpuMath.GroupBest(sv, si, t, GpuGroup);
            prevV = sv[0];
            prevI = si[0];
            Group.Barrier();
            more = prevI >= 0;
            if (more && useTargets != 0)
            {
                // top-AFA: stop at the first cumulative norm reaching the target, keeping whichever side is closer.
                double previous = Math.Sqrt(c2);
                c2 += (double)prevV * prevV;
                double c = Math.Sqrt(c2);
                if (c >= target)
                {
                    more = false;
                    if (r == 0 || Math.Abs(previous - target) > Math.Abs(c - target))
                    {
                        if (t == 0)
                        {
                            paddedIdx[(long)row * k + r] = prevI;
                            paddedVal[(long)row * k + r] = pre[rowStart + prevI];
                        }
                        count++;
                    }
                }
            }
            if (more)
            {
                if (t == 0)
                {
                    paddedIdx[(long)row * k + r] = prevI;
                    paddedVal[(long)row * k + r] = pre[rowStart + prevI];
                }
                count++;
            }
        }
        if (t == 0) counts[row] = count;
    }

    /// <summary>
    /// Step 3 of 3: one thread per padded slot (row, s); slot s &lt; counts[row] moves to offsets[row] + rank, where rank
    /// is the number of the row's kept latents with a smaller index — so rows come out ordered by latent index.
    /// </summary>
    public static void GpuCompactV1(Index1D slot, ArrayView<int> paddedIdx, ArrayView<float> paddedVal,
        ArrayView<int> counts, ArrayView<int> offsets, ArrayView<int> indices, ArrayView<float> values, int k)
    {
        int row = slot / k, s = slot % k, c = counts[row];
        if (s < c)
        {
            long b0 = (long)row * k;
            int idx = paddedIdx[b0 + s], rank = 0;
            for (int q = 0; q < c; q++) if (paddedIdx[b0 + q] < idx) rank++;
            indices[offsets[row] + rank] = idx;
            values[offsets[row] + rank] = paddedVal[b0 + s];
        }
    }
}
