using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class ColumnTopKThreshold
{
    /// <summary>Threads per group (one group per column) of <see cref="GpuV1"/>.</summary>
    public const int GpuGroup = 256;

    /// <summary>Launch configuration of <see cref="GpuV1"/>: one 256-thread group per latent.</summary>
    public static KernelConfig GpuConfig(int f) => new(f, GpuGroup);

    /// <summary>
    /// One group per column runs m = budgets[column] rounds of a strided argmax (value desc, row asc) after the previous winner, like
    /// <see cref="TopK.GpuSelectV1"/> down a column; the m-th winner gives the threshold and cut.
    /// </summary>
    public static void GpuV1(ArrayView<float> pre, ArrayView<int> budgets, ArrayView<float> thresholds, ArrayView<int> cuts, int b, int f)
    {
        var sv = SharedMemory.Allocate<float>(GpuGroup);
        var si = SharedMemory.Allocate<int>(GpuGroup);
        int t = Group.IdxX, col = Grid.IdxX;
        float prevV = float.PositiveInfinity;
        int prevI = -1, found = 0, m = budgets[col];
        for (int round = 0; round < m && found == round; round++)
        {
            float bestV = 0f;
            int bestI = -1;
            for (int r = t; r < b; r += GpuGroup)
            {
                float v = pre[(long)r * f + col];
                if (v > 0f && Csr.Before(prevV, prevI, v, r) && (bestI < 0 || Csr.Before(v, r, bestV, bestI)))
                {
                    bestV = v;
                    bestI = r;
                }
            }
            sv[t] = bestV;
            si[t] = bestI;
            GpuMath.GroupBest(sv, si, t, GpuGroup);
            if (si[0] >= 0)
            {
                prevV = sv[0];
                prevI = si[0];
                found++;
            }
            Group.Barrier();
        }
        if (t == 0)
        {
            bool full = found == m || m <= 0;
            thresholds[col] = full ? prevV : 0f;
            cuts[col] = full ? prevI : -1;
        }
    }
}
