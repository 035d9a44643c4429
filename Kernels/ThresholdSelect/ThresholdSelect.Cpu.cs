using System.Buffers;
using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class ThresholdSelect
{
    /// <summary>Fast CPU path: rows in parallel count passing entries (8-wide vector pre-check), a scan gives offsets, rows fill in parallel.</summary>
    public static void Cpu(ReadOnlySpan<float> pre, ReadOnlySpan<float> thresholds, ReadOnlySpan<int> cuts,
        Span<int> offsets, Span<int> indices, Span<float> values)
    {
        int f = thresholds.Length, b = pre.Length / f;
        int[] counts = ArrayPool<int>.Shared.Rent(b);
        try
        {
            unsafe
            {
                fixed (float* pp = pre) fixed (float* pt = thresholds) fixed (int* pc = cuts) fixed (int* po = offsets)
                fixed (int* pi = indices) fixed (float* pv = values)
                {
                    var job = new Job(pp, pt, pc, po, pi, pv, f);
                    var cnt = counts;
                    Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) cnt[r] = job.Row(r, write: false); });
                    ExclusiveScan.Cpu(counts.AsSpan(0, b), offsets);
                    if (offsets[b] > indices.Length) throw CapacityExceeded(indices.Length);
                    Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) job.Row(r, write: true); });
                }
            }
        }
        finally { ArrayPool<int>.Shared.Return(counts); }
    }

    private readonly unsafe struct Job(float* pre, float* thresholds, int* cuts, int* offsets, int* indices, float* values, int f)
    {
        public int Row(int r, bool write)
        {
            float* row = pre + (long)r * f;
            int n = 0, pos = write ? offsets[r] : 0, j = 0;
            for (; j <= f - 8; j += 8)
            {
                // Nothing in the block can pass unless some value is positive and ≥ its threshold.
                var v = Vector256.Load(row + j);
                if (!Vector256.GreaterThanOrEqualAny(v, Vector256.Max(Vector256.Load(thresholds + j), Vector256.Create(float.Epsilon))))
                    continue;
                for (int q = j; q < j + 8; q++) n += Take(row[q], q, r, write, pos + n);
            }
            for (; j < f; j++) n += Take(row[j], j, r, write, pos + n);
            return n;
        }

        private int Take(float v, int j, int r, bool write, int at)
        {
            if (!Keep(v, thresholds[j], cuts[j], r)) return 0;
            if (write) { indices[at] = j; values[at] = v; }
            return 1;
        }
    }
}
