using System.Buffers;
using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

public static partial class TopK
{
    /// <summary>
    /// Fast CPU path: rows in parallel; each row keeps a k-entry min-heap (root = weakest kept entry under the
    /// selection order) filled in one pass that skips 8-entry blocks with no candidate by one vector compare, then sorts the kept latents by index into its padded slot; a final pass compacts.
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
            int* hi = indices + (long)r * k;
            float* hv = values + (long)r * k;
            int n = 0, j = 0;
            // Skip 8 entries at a time while none beats the bar (positive, and above the weakest kept once the heap is full):
            // the common case after the first few hundred entries, and branch-free.
            for (; j <= f - 8; j += 8)
            {
                var bar = Vector256.Create(n < k ? 0f : hv[0]);
                var block = Vector256.Load(row + j);
                if (Vector256.GreaterThanAny(absolute ? Vector256.Abs(block) : block, bar))
                    for (int q = j; q < j + 8; q++) Offer(row[q], q, hv, hi, ref n);
            }
            for (; j < f; j++) Offer(row[j], j, hv, hi, ref n);
            if (targets != null)
            {
                SortByRank(hv, hi, n);
                n = AfaKeep(new ReadOnlySpan<float>(hv, n), targets[r]);
            }
            SortByIndex(hv, hi, n);
            for (int q = 0; q < n; q++) hv[q] = row[hi[q]];
            return n;
        }

        // The heap holds scores (|pre| for AbsTopK); signed values are restored after sorting.
        private void Offer(float x, int j, float* hv, int* hi, ref int n)
        {
            float v = absolute ? MathF.Abs(x) : x;
            if (v <= 0) return;
            if (n < k) { hv[n] = v; hi[n] = j; Heap.SiftUp(new Span<float>(hv, k), new Span<int>(hi, k), n++); }
            else if (v > hv[0]) { hv[0] = v; hi[0] = j; Heap.SiftDown(new Span<float>(hv, k), new Span<int>(hi, k), n); }
        }

        private static void SortByRank(float* v, int* i, int n)
        {
            for (int a = 1; a < n; a++)
            {
                int ki = i[a]; float kv = v[a]; int c = a - 1;
                while (c >= 0 && Csr.Before(kv, ki, v[c], i[c])) { i[c + 1] = i[c]; v[c + 1] = v[c]; c--; }
                i[c + 1] = ki; v[c + 1] = kv;
            }
        }

        private static void SortByIndex(float* v, int* i, int n)
        {
            for (int a = 1; a < n; a++)
            {
                int ki = i[a]; float kv = v[a]; int c = a - 1;
                while (c >= 0 && i[c] > ki) { i[c + 1] = i[c]; v[c + 1] = v[c]; c--; }
                i[c + 1] = ki; v[c + 1] = kv;
            }
        }
    }
}
