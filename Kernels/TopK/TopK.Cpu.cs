using System.Buffers;
using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

public static partial class TopK
{
    /// <summary>
    /// Fast CPU path: rows in parallel; each row keeps a k-entry min-heap (root = weakest kept entry under the
    /// selection order) filled in one pass that skips 8-entry blocks with no candidate by one vector compare, then sorts the kept latents by index into its padded slot; a final pass compacts.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> pre, int f, int k, bool absolute, Span<int> offsets, Span<int> indices, Span<float> values)
    {
        int b = pre.Length / f;
        int[] counts = ArrayPool<int>.Shared.Rent(b);
        try
        {
            unsafe
            {
                fixed (float* pp = pre) fixed (int* pi = indices) fixed (float* pv = values)
                {
                    var job = new RowJob(pp, pi, pv, f, k, absolute);
                    var cnt = counts;
                    Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) cnt[r] = job.Row(r); });
                }
            }
            Csr.CompactPadded(counts.AsSpan(0, b), k, offsets, indices, values);
        }
        finally { ArrayPool<int>.Shared.Return(counts); }
    }

    private readonly unsafe struct RowJob(float* pre, int* indices, float* values, int f, int k, bool absolute)
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
            SortByIndex(hv, hi, n);
            for (int q = 0; q < n; q++) hv[q] = row[hi[q]];
            return n;
        }

        // The heap holds scores (|pre| for AbsTopK); signed values are restored after sorting.
        private void Offer(float x, int j, float* hv, int* hi, ref int n)
        {
            float v = absolute ? MathF.Abs(x) : x;
            if (v <= 0) return;
            if (n < k) { hv[n] = v; hi[n] = j; SiftUp(hv, hi, n++); }
            else if (v > hv[0]) { hv[0] = v; hi[0] = j; SiftDown(hv, hi, n); }
        }

        // Heap order: parent is weaker (comes later in the selection order) than its children.
        private static bool Weaker(float* v, int* i, int a, int b) => Csr.Before(v[b], i[b], v[a], i[a]);

        private static void Swap(float* v, int* i, int a, int b)
        {
            (v[a], v[b]) = (v[b], v[a]);
            (i[a], i[b]) = (i[b], i[a]);
        }

        private static void SiftUp(float* v, int* i, int c)
        {
            while (c > 0)
            {
                int p = (c - 1) >> 1;
                if (!Weaker(v, i, c, p)) return;
                Swap(v, i, c, p);
                c = p;
            }
        }

        private static void SiftDown(float* v, int* i, int n)
        {
            int p = 0;
            while (true)
            {
                int l = 2 * p + 1, r = l + 1, m = p;
                if (l < n && Weaker(v, i, l, m)) m = l;
                if (r < n && Weaker(v, i, r, m)) m = r;
                if (m == p) return;
                Swap(v, i, p, m);
                p = m;
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
