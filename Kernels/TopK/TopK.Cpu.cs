using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SaeGpu.Kernels;

internal static partial class TopK
{
    /// <summary>
    /// Fast CPU path: rows in parallel; each row streams through a <see cref="RowSelect"/> (a candidate buffer pruned to
    /// the best k by quickselect whenever it holds 2k, skipping 8-entry blocks with no candidate by one vector compare),
    /// then writes its kept latents ordered by index into its padded slot; a final pass compacts.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> pre, int f, int k, bool absolute, ReadOnlySpan<float> targetNorms,
        Span<int> offsets, Span<int> indices, Span<float> values)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        int b = pre.Length / f;
        int[] counts = ArrayPool<int>.Shared.Rent(b);
        try
        {
            unsafe
            {
                fixed (float* pp = pre) fixed (int* pi = indices) fixed (float* pv = values) fixed (float* pt = targetNorms)
                {
                    var job = new RowJob(pp, pi, pv, f, k, targetNorms.IsEmpty ? null : pt);
                    var cnt = counts;
                    Simd.ParallelChunks(b, (lo, hi) =>
                    {
                        using var buffer = new RowSelect.Buffer(1, k);
                        for (int r = lo; r < hi; r++) cnt[r] = job.Row(r, buffer.Row(0, absolute));
                    });
                }
            }
            Csr.CompactPadded(counts.AsSpan(0, b), k, offsets, indices, values);
        }
        finally { ArrayPool<int>.Shared.Return(counts); }
    }

    private readonly unsafe struct RowJob(float* pre, int* indices, float* values, int f, int k, float* targets)
    {
        public int Row(int r, RowSelect select)
        {
            float* row = pre + (long)r * f;
            int n = 0;
            float bar = 0;
            select.OfferAll(row, f, 0, null, ref n, ref bar);
            n = select.Finish(n, targets == null ? float.NaN : targets[r], indices + (long)r * k, values + (long)r * k);
            for (int q = 0; q < n; q++) values[(long)r * k + q] = row[indices[(long)r * k + q]];
            return n;
        }
    }
}

/// <summary>
/// One row's selection on the CPU paths of <see cref="TopK"/> and <see cref="EncodeTopK"/>: candidates (score, latent)
/// with a score above the bar are appended to a buffer of 2k + 8 slots; once it holds 2k or more, a quickselect under
/// <see cref="Csr.Before"/> keeps the best k and the bar becomes the k-th score. Latents arrive in ascending order, so a
/// later candidate equal to the k-th score loses the tie, and the bar test is strict. Scores are pre, or |pre| for AbsTopK; only positive ones compete.
/// Per row the caller keeps the count n and the bar (start: 0, 0).
/// </summary>
internal readonly unsafe struct RowSelect(float* scores, int* latents, int k, bool absolute)
{
    /// <summary>
    /// Offers values[q] for q in [0, count) as latent c0 + q (or map[c0 + q] when <paramref name="map"/> is given; the
    /// latents must ascend with q and exceed those offered before), skipping 8-entry blocks in which nothing beats the bar.
    /// A block that has a candidate is appended without branches on the data — by AVX-512 compress where the CPU has it,
    /// else every entry is written and the count grows by the ones above the bar — then the buffer is pruned if it holds
    /// 2k or more.
    /// </summary>
    public void OfferAll(float* values, int count, int c0, int* map, ref int n, ref float bar)
    {
        int q = 0;
        for (; q <= count - 8; q += 8)
        {
            var block = Vector256.Load(values + q);
            var score = absolute ? Vector256.Abs(block) : block;
            var above = Vector256.GreaterThan(score, Vector256.Create(bar));
            if (above == Vector256<float>.Zero) continue;
            if (Avx512F.VL.IsSupported) AppendBlock(score, above, LatentsAt(c0 + q, map), ref n);
            else Append(values, q, q + 8, c0, map, ref n, bar);
            if (n >= 2 * k) bar = Prune(ref n);
        }
        if (q < count) Append(values, q, count, c0, map, ref n, bar);
        if (n >= 2 * k) bar = Prune(ref n);
    }

    private static Vector256<int> LatentsAt(int c, int* map) =>
        map == null ? Vector256.Create(c) + Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) : Vector256.Load(map + c);

    // The block's scores above the bar, and their latents, packed to the buffer's end (a full 8-lane store each; the
    // buffer has 8 slots of slack past 2k).
    private void AppendBlock(Vector256<float> score, Vector256<float> above, Vector256<int> latentsOf, ref int n)
    {
        Avx512F.VL.Compress(Vector256<float>.Zero, above, score).Store(scores + n);
        Avx512F.VL.Compress(Vector256<int>.Zero, above.AsInt32(), latentsOf).Store(latents + n);
        n += BitOperations.PopCount(above.ExtractMostSignificantBits());
    }

    // Appends the entries of [from, to) (at most 8) that beat the bar: each is written, and the count grows by the ones above.
    private void Append(float* values, int from, int to, int c0, int* map, ref int n, float bar)
    {
        for (int e = from; e < to; e++)
        {
            float v = absolute ? MathF.Abs(values[e]) : values[e];
            scores[n] = v;
            latents[n] = map == null ? c0 + e : map[c0 + e];
            n += v > bar ? 1 : 0;
        }
    }

    /// <summary>Makes the bar the k-th best score offered so far when at least k beat the old one (else leaves it).</summary>
    public void Settle(ref int n, ref float bar)
    {
        if (n >= k) bar = Prune(ref n);
    }

    private float Prune(ref int n)
    {
        SelectBest(n);
        n = k;
        return scores[k - 1];
    }

    // Quickselect under the selection order (median-of-three pivot, branch-free Lomuto partition): afterwards [0, k)
    // holds the best k and slot k − 1 the k-th. Latents are distinct, so the order is strict.
    private void SelectBest(int n)
    {
        int lo = 0, hi = n - 1, target = k - 1;
        while (lo < hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            if (Before(mid, lo)) Swap(mid, lo);
            if (Before(hi, lo)) Swap(hi, lo);
            if (Before(mid, hi)) Swap(mid, hi);
            int p = Partition(lo, hi);
            if (p == target) return;
            if (target < p) hi = p - 1;
            else lo = p + 1;
        }
    }

    // Moves the entries of [lo, hi) that come before the pivot (slot hi) to the front and the others, in order, behind the
    // pivot; returns the pivot's slot. Entries before the pivot are packed in place (slot i ≤ j was read already), the others
    // into the spare slots and copied back at the end — 8 at a time by AVX-512 compress where the CPU has it, the rest
    // one by one without branching on the data.
    private int Partition(int lo, int hi)
    {
        float ps = scores[hi];
        int pl = latents[hi], i = lo, r = 0, j = lo;
        if (Avx512F.VL.IsSupported)
            for (; j <= hi - 8; j += 8) PartitionBlock(j, ps, pl, ref i, ref r);
        float* spareScores = scores + Slots(k);
        int* spareLatents = latents + Slots(k);
        for (; j < hi; j++)
        {
            float s = scores[j];
            int l = latents[j];
            bool before = (s > ps) | ((s == ps) & (l < pl));
            scores[i] = s;
            latents[i] = l;
            spareScores[r] = s;
            spareLatents[r] = l;
            i += before ? 1 : 0;
            r += before ? 0 : 1;
        }
        scores[i] = ps;
        latents[i] = pl;
        new Span<float>(spareScores, r).CopyTo(new Span<float>(scores + i + 1, r));
        new Span<int>(spareLatents, r).CopyTo(new Span<int>(latents + i + 1, r));
        return i;
    }

    // Entries [j, j + 8): those before the pivot (ps, pl) packed to slot i, the others to spare slot r (full 8-lane stores:
    // slots [i, j + 8) were read already, and the spare slots have 8 of slack).
    private void PartitionBlock(int j, float ps, int pl, ref int i, ref int r)
    {
        var s = Vector256.Load(scores + j);
        var l = Vector256.Load(latents + j);
        var pivot = Vector256.Create(ps);
        var before = Vector256.GreaterThan(s, pivot)
            | (Vector256.Equals(s, pivot) & Vector256.LessThan(l, Vector256.Create(pl)).AsSingle());
        var after = ~before;
        Avx512F.VL.Compress(Vector256<float>.Zero, before, s).Store(scores + i);
        Avx512F.VL.Compress(Vector256<int>.Zero, before.AsInt32(), l).Store(latents + i);
        Avx512F.VL.Compress(Vector256<float>.Zero, after, s).Store(scores + Slots(k) + r);
        Avx512F.VL.Compress(Vector256<int>.Zero, after.AsInt32(), l).Store(latents + Slots(k) + r);
        int c = BitOperations.PopCount(before.ExtractMostSignificantBits());
        i += c;
        r += 8 - c;
    }

    private bool Before(int a, int b) => Csr.Before(scores[a], latents[a], scores[b], latents[b]);

    private void Swap(int a, int b)
    {
        (scores[a], scores[b]) = (scores[b], scores[a]);
        (latents[a], latents[b]) = (latents[b], latents[a]);
    }

    /// <summary>
    /// Ends the row: keeps the best min(n, k); with a target norm (top-AFA; NaN = none) only the <see cref="TopK.AfaKeep"/>
    /// best of those; writes the kept latents ordered by index to <paramref name="outLatents"/> and their scores to
    /// <paramref name="outScores"/>; returns how many are kept.
    /// </summary>
    public int Finish(int n, float target, int* outLatents, float* outScores)
    {
        if (n > k) Prune(ref n);
        if (!float.IsNaN(target))
        {
            SortByRank(n);
            n = TopK.AfaKeep(new ReadOnlySpan<float>(scores, n), target);
        }
        new Span<int>(latents, n).Sort(new Span<float>(scores, n));
        new Span<int>(latents, n).CopyTo(new Span<int>(outLatents, n));
        new Span<float>(scores, n).CopyTo(new Span<float>(outScores, n));
        return n;
    }

    private void SortByRank(int n)
    {
        for (int a = 1; a < n; a++)
        {
            int ki = latents[a]; float kv = scores[a]; int c = a - 1;
            while (c >= 0 && Csr.Before(kv, ki, scores[c], latents[c])) { latents[c + 1] = latents[c]; scores[c + 1] = scores[c]; c--; }
            latents[c + 1] = ki; scores[c + 1] = kv;
        }
    }

    // Slots per row: 2k + 8 for the candidates, then 2k + 16 spare ones for Partition.
    private static int Slots(int k) => 2 * k + 8;

    private static long RowSlots(int k) => 2L * Slots(k) + 8;

    /// <summary>
    /// Candidate buffers (2k + 8 scores and latents, and as many spare ones plus 8 for the pruning) for
    /// <paramref name="rows"/> rows in native memory; dispose to free them.
    /// </summary>
    public sealed class Buffer(int rows, int k) : IDisposable
    {
        private readonly float* scores = (float*)NativeMemory.Alloc((nuint)(rows * RowSlots(k)), sizeof(float));
        private readonly int* latents = (int*)NativeMemory.Alloc((nuint)(rows * RowSlots(k)), sizeof(int));

        /// <summary>The selection state of row <paramref name="row"/> of this buffer.</summary>
        public RowSelect Row(int row, bool absolute) => new(scores + row * RowSlots(k), latents + row * RowSlots(k), k, absolute);

        /// <summary>Frees the buffers.</summary>
        public void Dispose()
        {
            NativeMemory.Free(scores);
            NativeMemory.Free(latents);
        }
    }
}
