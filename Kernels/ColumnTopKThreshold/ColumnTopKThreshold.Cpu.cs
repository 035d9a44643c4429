using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class ColumnTopKThreshold
{
    /// <summary>
    /// Fast CPU path: column blocks in parallel; each block scans its columns row by row (cache friendly) into one
    /// m-entry min-heap per column, skipping 8-column groups whose values are all below their columns' bars.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> pre, int m, Span<float> thresholds, Span<int> cuts)
    {
        int f = thresholds.Length, b = pre.Length / f;
        unsafe
        {
            fixed (float* pp = pre) fixed (float* pt = thresholds) fixed (int* pc = cuts)
            {
                var job = new Job(pp, pt, pc, b, f, m);
                Simd.ParallelChunks((f + 7) / 8, (lo, hi) => job.Columns(lo * 8, Math.Min(f, hi * 8)), 4);
            }
        }
    }

    private readonly unsafe struct Job(float* pre, float* thresholds, int* cuts, int b, int f, int m)
    {
        public void Columns(int j0, int j1)
        {
            int w = j1 - j0;
            var hv = new float[w * m];
            var hr = new int[w * m];
            var n = new int[w];
            var bar = new float[w + 8];
            for (int r = 0; r < b; r++)
            {
                float* row = pre + (long)r * f;
                int j = j0;
                for (; j <= j1 - 8; j += 8)
                {
                    if (!Vector256.GreaterThanAny(Vector256.Load(row + j), Vector256.Create(bar, j - j0))) continue;
                    for (int q = j; q < j + 8; q++) Offer(row[q], r, q - j0, hv, hr, n, bar);
                }
                for (; j < j1; j++) Offer(row[j], r, j - j0, hv, hr, n, bar);
            }
            for (int c = 0; c < w; c++)
            {
                bool full = n[c] == m;
                thresholds[j0 + c] = full ? hv[c * m] : 0;
                cuts[j0 + c] = full ? hr[c * m] : -1;
            }
        }

        private void Offer(float v, int r, int c, float[] hv, int[] hr, int[] n, float[] bar)
        {
            if (v <= 0) return;
            var vals = hv.AsSpan(c * m, m);
            var rows = hr.AsSpan(c * m, m);
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
