using ILGPU;

namespace SaeGpu.Kernels;

/// <summary>Device-side helpers used inside explicitly grouped ILGPU kernels.</summary>
internal static class GpuMath
{
    /// <summary>Sum over the 32 lanes of a warp; every lane receives the total.</summary>
    public static float WarpSum(float v)
    {
        for (int delta = Warp.WarpSize / 2; delta > 0; delta >>= 1)
            v += Warp.ShuffleDown(v, delta);
        return Warp.Shuffle(v, 0);
    }

    /// <summary>Integer sum over the 32 lanes of a warp; every lane receives the total.</summary>
    public static int WarpSumInt(int v)
    {
        for (int delta = Warp.WarpSize / 2; delta > 0; delta >>= 1)
            v += Warp.ShuffleDown(v, delta);
        return Warp.Shuffle(v, 0);
    }

    /// <summary>Inclusive prefix sum over the lanes of a warp (lane i gets Σ_{l ≤ i} v_l).</summary>
    public static int WarpInclusiveScan(int v)
    {
        int lane = Warp.LaneIdx;
        for (int delta = 1; delta < Warp.WarpSize; delta <<= 1)
        {
            int up = Warp.ShuffleUp(v, delta);
            if (lane >= delta) v += up;
        }
        return v;
    }

    /// <summary>
    /// Group-wide argmax under the selection order (<see cref="Csr.Before"/>; key −1 = no candidate): a shared-memory tree
    /// reduction over the group's (score, key) pairs, leaving the winner in slot 0. Every thread of the group must call it.
    /// </summary>
    public static void GroupBest(ArrayView<float> scores, ArrayView<int> keys, int t, int groupSize)
    {
        Group.Barrier();
        for (int s = groupSize / 2; s > 0; s >>= 1)
        {
            if (t < s && keys[t + s] >= 0 && (keys[t] < 0 || Csr.Before(scores[t + s], keys[t + s], scores[t], keys[t])))
            {
                scores[t] = scores[t + s];
                keys[t] = keys[t + s];
            }
            Group.Barrier();
        }
    }

    /// <summary>Row of CSR entry p by binary search over offsets [B+1] (device twin of <see cref="Csr.RowOf"/>).</summary>
    public static int RowOf(ArrayView<int> offsets, int p)
    {
        int lo = 0, hi = (int)offsets.Length - 2;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (offsets[mid] <= p) lo = mid; else hi = mid - 1;
        }
        return lo;
    }
}
