using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class ExclusiveScan
{
    /// <summary>Threads in the single group of <see cref="GpuV1"/>.</summary>
    public const int GpuGroup = 256;

    /// <summary>Launch configuration of <see cref="GpuV1"/>: one group of 256 threads.</summary>
    public static KernelConfig GpuConfig() => new(1, GpuGroup);

    /// <summary>
    /// One group: each thread sums a contiguous chunk, a Hillis–Steele scan over the 256 chunk sums in shared
    /// memory gives chunk starts, and each thread writes its chunk's running offsets.
    /// </summary>
    public static void GpuV1(ArrayView<int> counts, ArrayView<int> offsets, int n)
    {
        var sums = SharedMemory.Allocate<int>(GpuGroup);
        int t = Group.IdxX, chunk = (n + GpuGroup - 1) / GpuGroup;
        int lo = Math.Min(n, t * chunk), hi = Math.Min(n, lo + chunk);
        int s = 0;
        for (int i = lo; i < hi; i++) s += counts[i];
        sums[t] = s;
        Group.Barrier();
        for (int step = 1; step < GpuGroup; step <<= 1)
        {
            int add = t >= step ? sums[t - step] : 0;
            Group.Barrier();
            sums[t] += add;
            Group.Barrier();
        }
        int run = sums[t] - s;
        for (int i = lo; i < hi; i++) { offsets[i] = run; run += counts[i]; }
        if (t == GpuGroup - 1) offsets[n] = sums[t];
    }
}
