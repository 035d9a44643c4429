using ILGPU;
using ILGPU.Runtime;

namespace SaeGpu.Kernels;

internal static partial class TopK
{
    /// <summary>Threads per group (one group per row) of <see cref="GpuSelectV1"/>.</summary>
    public const int GpuGroup = 256;

    /// <summary>Launch configuration of <see cref="GpuSelectV1"/>: one 256-thread group per row.</summary>
    public static KernelConfig GpuSelectConfig(int b) => new(b, GpuGroup);

    /// <summary>
    /// Step 1 of 3 on the GPU (then <see cref="ExclusiveScan"/> on counts, then <see cref="GpuCompactV1"/>) for top-AFA, whose
    /// count needs the kept scores in rank order (<see cref="GpuSelectV2"/> serves TopK and AbsTopK in O(F)).
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
    /// Step 1 of 3 without top-AFA targets, by radix select; one 256-thread group per row, O(F) whatever k. The candidates
    /// of a row are its f entries of pre (latents c0 … c0 + f − 1), preceded, when merge ≠ 0, by the prevCounts[row]
    /// entries kept from earlier latents (prevIdx/prevVal, padded at stride k, ascending latents below c0) — so a fused
    /// encode can select over F in chunks of pre and keep only B·k candidates between them:
    /// <list type="number">
    /// <item>the k-th largest positive score's bit pattern T is found 8 bits per pass, most significant first (positive
    /// float32 bits order like the values): each pass counts, in a 256-bin shared-memory histogram (shared atomics), the
    /// candidates that share the bits found so far, and warp 0 locates the bin holding the k-th by a shuffle scan;</item>
    /// <item>one coalesced pass in candidate (= latent) order then keeps every score above T and the lowest-latent scores
    /// equal to T up to k (the selection order of <see cref="Csr.Before"/>), placing each by a group-wide prefix count, so
    /// the padded slot row·k + s comes out ordered by latent index. Rows with fewer than k positive scores keep all.</item>
    /// </list>
    /// Scores are pre, or |pre| when absolute ≠ 0 (values keep their sign); counts[row] = entries written. The outputs
    /// must not alias the previous candidates.
    /// </summary>
    public static void GpuSelectV2(ArrayView<float> pre, ArrayView<int> prevIdx, ArrayView<float> prevVal, ArrayView<int> prevCounts,
        ArrayView<int> paddedIdx, ArrayView<float> paddedVal, ArrayView<int> counts, int f, int c0, int k, int absolute, int merge)
    {
        var hist = SharedMemory.Allocate<int>(RadixBins);
        var warpTotals = SharedMemory.Allocate<int>(GpuGroup / 32);
        var state = SharedMemory.Allocate<int>(2);
        int t = Group.IdxX, row = Grid.IdxX;
        var rowPre = pre.SubView((long)row * f, f);
        var rowPrevIdx = prevIdx.SubView(merge != 0 ? (long)row * k : 0, merge != 0 ? k : 1);
        var rowPrevVal = prevVal.SubView(merge != 0 ? (long)row * k : 0, merge != 0 ? k : 1);
        int np = merge != 0 ? prevCounts[row] : 0, n = np + f;
        if (t == 0) { state[0] = 0; state[1] = k; }
        Group.Barrier();
        int fixedBits = 0;
        for (int shift = 24; shift >= 0 && state[1] > 0; shift -= 8)
        {
            hist[t] = 0;
            Group.Barrier();
            int prefix = state[0];
            for (int e = t; e < n; e += GpuGroup)
            {
                int key = RadixKey(e < np ? rowPrevVal[e] : rowPre[e - np], absolute);
                if (key != 0 && (key & fixedBits) == prefix) Atomic.Add(ref hist[(key >> shift) & 255], 1);
            }
            Group.Barrier();
            if (t < 32) FindRadixBin(hist, state, shift);
            Group.Barrier();
            fixedBits |= 255 << shift;
        }
        // state = (T, ties to take); (0, −1) when fewer than k scores are positive: then every positive score is above T.
        int tBits = state[0], needTies = Math.Max(0, state[1]), aboveRun = 0, tieRun = 0;
        for (int e0 = 0; e0 < n; e0 += GpuGroup)
        {
            int e = e0 + t;
            float value = e < np ? rowPrevVal[e] : e < n ? rowPre[e - np] : 0f;
            int key = RadixKey(value, absolute);
            int above = key > tBits ? 1 : 0, tie = key == tBits && tBits != 0 ? 1 : 0;
            int before = GroupExclusiveScan(above | tie << 16, warpTotals, out int total);
            int aboveBefore = aboveRun + (before & 0xFFFF), tieBefore = tieRun + (before >> 16);
            if (above == 1 || (tie == 1 && tieBefore < needTies))
            {
                long slot = (long)row * k + aboveBefore + Math.Min(tieBefore, needTies);
                paddedIdx[slot] = e < np ? rowPrevIdx[e] : c0 + e - np;
                paddedVal[slot] = value;
            }
            aboveRun += total & 0xFFFF;
            tieRun += total >> 16;
        }
        if (t == 0) counts[row] = aboveRun + Math.Min(tieRun, needTies);
    }

    /// <summary>Histogram bins per radix pass of <see cref="GpuSelectV2"/> (8 bits; the group's 256 threads clear one each).</summary>
    public const int RadixBins = 256;

    // The score's float32 bits as an int when the score is positive (those order like the scores), else 0.
    private static int RadixKey(float v, int absolute)
    {
        float score = absolute != 0 ? Math.Abs(v) : v;
        return score > 0f ? (int)Interop.FloatAsInt(score) : 0;
    }

    // Warp 0: lane l holds bins 255 − 8l − 7 … 255 − 8l; an inclusive shuffle scan from the top bins finds the lane, then the
    // bin, where the count of larger candidates first reaches the number still needed; that bin joins the prefix and the
    // need drops by the candidates in higher bins. Fewer candidates than needed (first pass only): state ← (0, −1).
    private static void FindRadixBin(ArrayView<int> hist, ArrayView<int> state, int shift)
    {
        int lane = Warp.LaneIdx, need = state[1], top = RadixBins - 1 - 8 * lane, own = 0;
        for (int q = 0; q < 8; q++) own += hist[top - q];
        int inclusive = GpuMath.WarpInclusiveScan(own), total = Warp.Shuffle(inclusive, 31);
        if (total < need)
        {
            if (lane == 0) { state[0] = 0; state[1] = -1; }
            return;
        }
        int running = inclusive - own;
        if (running >= need || inclusive < need) return;
        for (int q = 0; q < 8; q++)
        {
            int bin = top - q, c = hist[bin];
            if (running + c >= need)
            {
                state[0] |= bin << shift;
                state[1] = need - running;
                return;
            }
            running += c;
        }
    }

    // Exclusive prefix sum of v over the group (warp shuffle scans, then the warps' totals from shared memory).
    private static int GroupExclusiveScan(int v, ArrayView<int> warpTotals, out int total)
    {
        int inclusive = GpuMath.WarpInclusiveScan(v);
        if (Warp.LaneIdx == Warp.WarpSize - 1) warpTotals[Warp.WarpIdx] = inclusive;
        Group.Barrier();
        int before = 0;
        total = 0;
        for (int w = 0; w < GpuGroup / Warp.WarpSize; w++)
        {
            int s = warpTotals[w];
            if (w < Warp.WarpIdx) before += s;
            total += s;
        }
        Group.Barrier();
        return inclusive - v + before;
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
