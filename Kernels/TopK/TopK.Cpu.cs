using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

public static partial class TopK
{
    /// <summary>
    /// Fast CPU path: rows in parallel; each row streams through a <see cref="RowSelect"/> (a 2k-entry candidate buffer
    /// pruned to the best k by quickselect whenever it fills, skipping 8-entry blocks with no candidate by one vector
    /// compare), then writes its kept latents ordered by index into its padded slot; a final pass compacts.
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
/// with a score above the bar are appended to a 2k-entry buffer; when it fills, a quickselect under <see cref="Csr.Before"/>
/// keeps the best k and the bar becomes the k-th score. Latents arrive in ascending order, so a later candidate equal to
/// the k-th score loses the tie, and the bar test is strict. Scores are pre, or |pre| for AbsTopK; only positive ones compete.
/// Per row the caller keeps the count n and the bar (start: 0, 0).
/// </summary>
internal readonly unsafe struct RowSelect(float* scores, int* latents, int k, bool absolute)
{
    /// <summary>
    /// Offers values[q] for q in [0, count) as latent c0 + q (or map[c0 + q] when <paramref name="map"/> is given; the
    /// latents must ascend with q and exceed those offered before), skipping 8-entry blocks in which nothing beats the bar.
    /// </summary>
    public void OfferAll(float* values, int count, int c0, int* map, ref int n, ref float bar)
    {
        int q = 0;
        for (; q <= count - 8; q += 8)
        {
            var block = Vector256.Load(values + q);
            if (Vector256.GreaterThanAny(absolute ? Vector256.Abs(block) : block, Vector256.Create(bar)))
                for (int e = q; e < q + 8; e++) Offer(values[e], map == null ? c0 + e : map[c0 + e], ref n, ref bar);
        }
        for (; q < count; q++) Offer(values[q], map == null ? c0 + q : map[c0 + q], ref n, ref bar);
    }

    private void Offer(float x, int j, ref int n, ref float bar)
    {
        float v = absolute ? MathF.Abs(x) : x;
        if (!(v > bar)) return;
        scores[n] = v;
        latents[n] = j;
        if (++n == 2 * k) bar = Prune(ref n);
    }

    private float Prune(ref int n)
    {
        SelectBest(n);
        n = k;
        return scores[k - 1];
    }

    // Quickselect (Hoare partition, median-of-three pivot) under the selection order: afterwards [0, k) holds the best k
    // and slot k − 1 the k-th. Latents are distinct, so the order is strict.
    private void SelectBest(int n)
    {
        int lo = 0, hi = n - 1, target = k - 1;
        while (lo < hi)
        {
            int mid = lo + ((hi - lo) >> 1);
            if (Before(mid, lo)) Swap(mid, lo);
            if (Before(hi, lo)) Swap(hi, lo);
            if (Before(hi, mid)) Swap(hi, mid);
            float ps = scores[mid];
            int pl = latents[mid], i = lo, j = hi;
            while (i <= j)
            {
                while (Csr.Before(scores[i], latents[i], ps, pl)) i++;
                while (Csr.Before(ps, pl, scores[j], latents[j])) j--;
                if (i <= j) Swap(i++, j--);
            }
            if (target <= j) hi = j;
            else if (target >= i) lo = i;
            else return;
        }
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

    /// <summary>Candidate buffers (2k scores and latents) for <paramref name="rows"/> rows in native memory; dispose to free them.</summary>
    public sealed class Buffer(int rows, int k) : IDisposable
    {
        private readonly float* scores = (float*)NativeMemory.Alloc((nuint)rows * 2 * (nuint)k, sizeof(float));
        private readonly int* latents = (int*)NativeMemory.Alloc((nuint)rows * 2 * (nuint)k, sizeof(int));

        /// <summary>The selection state of row <paramref name="row"/> of this buffer.</summary>
        public RowSelect Row(int row, bool absolute) => new(scores + (long)row * 2 * k, latents + (long)row * 2 * k, k, absolute);

        /// <summary>Frees the buffers.</summary>
        public void Dispose()
        {
            NativeMemory.Free(scores);
            NativeMemory.Free(latents);
        }
    }
}
