using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class ColumnTopKThreshold
{
    /// <summary>
    /// Fast CPU path: column blocks in parallel; each block scans its columns row by row (cache friendly) into one
    /// m_j-entry min-heap per column, skipping 8-column groups whose values are all below their columns' bars.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> pre, ReadOnlySpan<int> budgets, Span<float> thresholds, Span<int> cuts)
    {
        int f = thresholds.Length, b = pre.Length / f;
        unsafe
        {
            fixed (float* pp = pre) fixed (int* pm = budgets) fixed (float* pt = thresholds) fixed (int* pc = cuts)
            {
                var job = new Job(pp, pm, pt, pc, b, f);
                Simd.ParallelChunks((f + 7) / 8, (lo, hi) => job.Columns(lo * 8, Math.Min(f, hi * 8)), 4);
            }
        }
    }

    private readonly unsafe struct Job(float* pre, int* budgets, float* thresholds, int* cuts, int b, int f)
    {
        public void Columns(int j0, int j1)
        {
            int w = j1 - j0;
            var start = new int[w + 1];
            for (int c = 0; c < w; c++) start[c + 1] = start[c] + Math.Clamp(budgets[j0 + c], 0, b + 1);
            var hv = new float[start[w]];
            var hr = new int[start[w]];
            var n = new int[w];
            var bar = new float[w + 8];
            for (int c = 0; c < w; c++) if (budgets[j0 + c] <= 0) bar[c] = float.PositiveInfinity;
            for (int r = 0; r < b; r++)
            {
                float* row = pre + (long)r * f;
                int j = j0;
                for (; j <= j1 - 8; j += 8)
                {
                    if (!Vector256.GreaterThanAny(Vector256.Load(row + j), Vector256.Create(bar, j - j0))) continue;
                    for (int q = j; q < j + 8; q++) Offer(row[q], r, q - j0, start, hv, hr, n, bar);
                }
                for (; j < j1; j++) Offer(row[j], r, j - j0, start, hv, hr, n, bar);
            }
            for (int c = 0; c < w; c++)
            {
                int m = start[c + 1] - start[c];
                bool full = n[c] == m;
                thresholds[j0 + c] = budgets[j0 + c] <= 0 ? float.PositiveInfinity : full ? hv[start[c]] : 0;
                cuts[j0 + c] = full && m > 0 ? hr[start[c]] : -1;
            }
        }

        // Column c's heap holds its m_c best entries in hv/hr[start[c] .. start[c + 1]).
        private static void Offer(float v, int r, int c, int[] start, float[] hv, int[] hr, int[] n, float[] bar)
        {
            int m = start[c + 1] - start[c];
            if (v <= 0 || m == 0) return;
            var vals = hv.AsSpan(start[c], m);
            var rows = hr.AsSpan(start[c], m);
            if (n[c] < m)
            {
                vals[n[c]] = v;
                rows[n[c]] = r;
                Heap.SiftUp(vals, rows, n[c]++);
            }
            else if (v > vals[0])
            {
                vals[0] = v;
                rows[0] = r;
                Heap.SiftDown(vals, rows, m);
            }
            if (n[c] == m) bar[c] = vals[0];
        }
    }
}
