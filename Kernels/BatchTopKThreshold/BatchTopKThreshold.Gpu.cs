using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class BatchTopKThreshold
{
    /// <summary>Threads per group of the counting kernels.</summary>
    public const int GpuGroup = 256;

    /// <summary>Launch configuration of the counting kernels: a grid-stride loop over enough 256-thread groups to fill a GPU.</summary>
    public static KernelConfig GpuConfig(long n) => new((int)Math.Clamp((n + GpuGroup - 1) / GpuGroup, 1, 4096), GpuGroup);

    /// <summary>
    /// counter[0] += #{q : pre[q] &gt; 0 and bits(pre[q]) ≥ bits} (bit patterns of positive floats order like the floats).
    /// The host bisects on <paramref name="bits"/> to find the m-th largest value τ.
    /// </summary>
    public static void GpuCountAtLeastV1(ArrayView<float> pre, ArrayView<int> counter, int bits)
    {
        int n = 0;
        for (long q = Grid.GlobalIndex.X; q < pre.Length; q += (long)Grid.DimX * GpuGroup)
        {
            float v = pre[q];
            if (v > 0f && Interop.FloatAsInt(v) >= bits) n++;
        }
        GroupAdd(counter, n);
    }

    /// <summary>
    /// counter[0] += #{q ≤ lastFlat : bits(pre[q]) == tauBits} — ties at τ up to a flat index. The host bisects on
    /// <paramref name="lastFlat"/> to find the last tie the budget admits.
    /// </summary>
    public static void GpuCountTiesV1(ArrayView<float> pre, ArrayView<int> counter, int tauBits, long lastFlat)
    {
        int n = 0;
        long end = Math.Min(pre.Length - 1, lastFlat);
        for (long q = Grid.GlobalIndex.X; q <= end; q += (long)Grid.DimX * GpuGroup)
            if (Interop.FloatAsInt(pre[q]) == tauBits) n++;
        GroupAdd(counter, n);
    }

    private static void GroupAdd(ArrayView<int> counter, int n)
    {
        var shared = SharedMemory.Allocate<int>(GpuGroup);
        int t = Group.IdxX;
        shared[t] = n;
        Group.Barrier();
        for (int s = GpuGroup / 2; s > 0; s >>= 1)
        {
            if (t < s) shared[t] += shared[t + s];
            Group.Barrier();
        }
        if (t == 0) Atomic.Add(ref counter[0], shared[0]);
    }
}
