using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class ThresholdSelect
{
    /// <summary>Launch configuration of both kernels: one 32-thread warp per row.</summary>
    public static KernelConfig GpuConfig(int b) => new(b, 32);

    /// <summary>Step 1 of 3 (then <see cref="ExclusiveScan"/>, then <see cref="GpuFillV1"/>): warp per row counts passing entries.</summary>
    public static void GpuCountV1(ArrayView<float> pre, ArrayView<float> thresholds, ArrayView<int> cuts, ArrayView<int> counts, int f)
    {
        int r = Grid.IdxX, lane = Group.IdxX;
        long o = (long)r * f;
        int n = 0;
        for (int j = lane; j < f; j += 32)
            if (Keep(pre[o + j], thresholds[j], cuts[j], r)) n++;
        n = GpuMath.WarpSumInt(n);
        if (lane == 0) counts[r] = n;
    }

    /// <summary>
    /// Step 3 of 3: warp per row walks the row in 32-wide chunks; a warp prefix sum of the pass flags gives each passing
    /// entry its slot, so entries land in latent order at offsets[row] + rank. Slots past capacity are dropped.
    /// </summary>
    public static void GpuFillV1(ArrayView<float> pre, ArrayView<float> thresholds, ArrayView<int> cuts, ArrayView<int> offsets,
        ArrayView<int> indices, ArrayView<float> values, int f)
    {
        int r = Grid.IdxX, lane = Group.IdxX;
        long o = (long)r * f;
        int pos = offsets[r];
        for (int j0 = 0; j0 < f; j0 += 32)
        {
            int j = j0 + lane;
            float v = j < f ? pre[o + j] : 0f;
            int flag = j < f && Keep(v, thresholds[j], cuts[j], r) ? 1 : 0;
            int inclusive = GpuMath.WarpInclusiveScan(flag);
            int at = pos + inclusive - flag;
            if (flag != 0 && at < indices.Length)
            {
                indices[at] = j;
                values[at] = v;
            }
            pos += Warp.Shuffle(inclusive, 31);
        }
    }
}
