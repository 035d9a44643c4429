using System.Buffers;
using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

public static partial class TopK
{
    /// <summary>
    /// Fast CPU path: rows in parallel; each row keeps a k-entry min-heap (<see cref="RowHeap"/>) filled in one pass that
    /// skips 8-entry blocks with no candidate by one vector compare, then sorts the kept latents by index into its padded
    /// slot; a final pass compacts.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> pre, int f, int k, bool absolute, ReadOnlySpan<float> targetNorms,
        Span<int> offsets, Span<int> indices, Span<float> values)
    {
        int b = pre.Length / f;
        int[] counts = ArrayPool<int>.Shared.Rent(b);
        try
        {
            unsafe
            {
                fixed (float* pp = pre) fixed (int* pi = indices) fixed (float* pv = values) fixed (float* pt = targetNorms)
                {
                    var job = new RowJob(pp, pi, pv, f, k, absolute, targetNorms.IsEmpty ? null : pt);
                    var cnt = counts;
                    Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) cnt[r] = job.Row(r); });
                }
            }
            Csr.CompactPadded(counts.AsSpan(0, b), k, offsets, indices, values);
        }
        finally { ArrayPool<int>.Shared.Return(counts); }
    }

    private readonly unsafe struct RowJob(float* pre, int* indices, float* values, int f, int k, bool absolute, float* targets)
    {
        public int Row(int r)
        {
            float* row = pre + (long)r * f;
            var heap = new RowHeap(indices + (long)r * k, values + (long)r * k, k, absolute);
            int n = 0;
            heap.OfferAll(row, f, 0, null, ref n);
            n = heap.Finish(n, targets == null ? float.NaN : targets[r]);
            for (int q = 0; q < n; q++) values[(long)r * k + q] = row[indices[(long)r * k + q]];
            return n;
        }
    }
}

/// <summary>
/// One row's selection state on the CPU paths of <see cref="TopK"/> and <see cref="EncodeTopK"/>: a k-slot min-heap of
/// (score, latent) pairs under <see cref="Csr.Before"/> (root = weakest kept entry) stored in the row's padded output slot;
/// scores are pre, or |pre| for AbsTopK, and only positive scores compete.
/// </summary>
internal readonly unsafe struct RowHeap(int* latents, float* scores, int k, bool absolute)
{
    /// <summary>
    /// Offers values[q] for q in [0, count) as latent c0 + q (or map[c0 + q] when <paramref name="map"/> is given; the
    /// latents must ascend with q), skipping 8-entry blocks in which nothing beats the bar by one vector compare.
    /// </summary>
    public void OfferAll(float* values, int count, int c0, int* map, ref int n)
    {
        int q = 0;
        for (; q <= count - 8; q += 8)
        {
            var bar = Vector256.Create(n < k ? 0f : scores[0]);
            var block = Vector256.Load(values + q);
            if (Vector256.GreaterThanAny(absolute ? Vector256.Abs(block) : block, bar))
                for (int e = q; e < q + 8; e++) Offer(values[e], map == null ? c0 + e : map[c0 + e], ref n);
        }
        for (; q < count; q++) Offer(values[q], map == null ? c0 + q : map[c0 + q], ref n);
    }

    private void Offer(float x, int j, ref int n)
    {
        float v = absolute ? MathF.Abs(x) : x;
        if (v <= 0) return;
        if (n < k) { scores[n] = v; latents[n] = j; Heap.SiftUp(new Span<float>(scores, k), new Span<int>(latents, k), n++); }
        else if (v > scores[0]) { scores[0] = v; latents[0] = j; Heap.SiftDown(new Span<float>(scores, k), new Span<int>(latents, k), n); }
    }

    /// <summary>
    /// Ends the row: with a target norm (top-AFA; NaN = none) keeps the <see cref="TopK.AfaKeep"/> best, then orders the
    /// kept entries by latent index; returns how many are kept. The score slots still hold scores, not signed values.
    /// </summary>
    public int Finish(int n, float target)
    {
        if (!float.IsNaN(target))
        {
            SortByRank(n);
            n = TopK.AfaKeep(new ReadOnlySpan<float>(scores, n), target);
        }
        SortByIndex(n);
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

    private void SortByIndex(int n)
    {
        for (int a = 1; a < n; a++)
        {
            int ki = latents[a]; float kv = scores[a]; int c = a - 1;
            while (c >= 0 && latents[c] > ki) { latents[c + 1] = latents[c]; scores[c + 1] = scores[c]; c--; }
            latents[c + 1] = ki; scores[c + 1] = kv;
        }
    }
}
