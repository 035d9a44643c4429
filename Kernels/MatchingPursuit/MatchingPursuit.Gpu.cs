using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class MatchingPursuit
{
    /// <summary>Threads per group (one group per row) of <see cref="GpuStepV1"/>.</summary>
    public const int GpuGroup = 256;

    /// <summary>Launch configuration of <see cref="GpuStepV1"/>: one 256-thread group per row.</summary>
    public static KernelConfig GpuStepConfig(int b) => new(b, GpuGroup);

    /// <summary>
    /// One pursuit step after the correlations corr [B, n] = residual · atomsᵀ (the <see cref="Encode"/> GEMM): per row,
    /// a strided scan and a shared-memory tree reduction find j* = argmax |corr| (lower index on ties); thread 0 adds
    /// corr[j*] to the row's padded slot of j* (appending it when new), and all threads subtract corr[j*]·atoms[j*] from the
    /// residual. Rows whose correlations are all 0 are left alone. After k steps, <see cref="ExclusiveScan"/> on counts and
    /// <see cref="TopK.GpuCompactV1"/> give CSR codes sorted by atom.
    /// </summary>
    public static void GpuStepV1(ArrayView<float> corr, ArrayView<float> atoms, ArrayView<float> residual,
        ArrayView<int> paddedIdx, ArrayView<float> paddedVal, ArrayView<int> counts, int n, int d, int k)
    {
        var sv = SharedMemory.Allocate<float>(GpuGroup);
        var si = SharedMemory.Allocate<int>(GpuGroup);
        int t = Group.IdxX, row = Grid.IdxX;
        long c0 = (long)row * n;
        float bestV = 0f;
        int bestI = -1;
        for (int j = t; j < n; j += GpuGroup)
        {
            float v = Math.Abs(corr[c0 + j]);
            if (v > 0f && (bestI < 0 || Csr.Before(v, j, bestV, bestI))) { bestV = v; bestI = j; }
        }
        sv[t] = bestV;
        si[t] = bestI;
        GpuMath.GroupBest(sv, si, t, GpuGroup);
        int win = si[0];
        if (win >= 0)
        {
            float a = corr[c0 + win];
            if (t == 0)
            {
                long b0 = (long)row * k;
                int count = counts[row], slot = 0;
                while (slot < count && paddedIdx[b0 + slot] != win) slot++;
                if (slot == count) { paddedIdx[b0 + slot] = win; paddedVal[b0 + slot] = 0f; counts[row] = count + 1; }
                paddedVal[b0 + slot] += a;
            }
            long r0 = (long)row * d, w0 = (long)win * d;
            for (int i = t; i < d; i += GpuGroup) residual[r0 + i] -= a * atoms[w0 + i];
        }
    }
}
