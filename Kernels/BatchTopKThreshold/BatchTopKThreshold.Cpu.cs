using System.Collections.Concurrent;

namespace SaeGpu.Kernels;

internal static partial class BatchTopKThreshold
{
    private const int Buckets = 1 << 16;

    /// <summary>
    /// Fast CPU path, a two-pass radix select: (1) histogram of positive entries by the top 16 bits of their float bit
    /// pattern (monotone for positive floats), row chunks in parallel; (2) the bucket holding the m-th largest is
    /// collected and sorted, everything above it passing outright.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> pre, int m, Span<float> thresholds, Span<int> cuts)
    {
        unsafe
        {
            fixed (float* pp = pre)
            {
                var p = pp;
                long n = pre.Length;
                var histogram = new long[Buckets];
                Simd.ParallelChunks((int)Math.Min(n, int.MaxValue), (lo, hi) =>
                {
                    var local = new int[Buckets];
                    for (long q = lo; q < hi; q++) if (p[q] > 0) local[BitConverter.SingleToInt32Bits(p[q]) >> 15]++;
                    lock (histogram) for (int h = 0; h < Buckets; h++) histogram[h] += local[h];
                }, 1 << 16);
                long above = 0;
                int bucket = Buckets - 1;
                for (; bucket >= 0 && above + histogram[bucket] < m; bucket--) above += histogram[bucket];
                if (bucket < 0) { KeepAllPositive(thresholds, cuts); return; }
                var inBucket = new ConcurrentBag<(float V, long Q)[]>();
                int target = bucket;
                Simd.ParallelChunks((int)n, (lo, hi) =>
                {
                    var list = new List<(float, long)>();
                    for (long q = lo; q < hi; q++)
                        if (p[q] > 0 && BitConverter.SingleToInt32Bits(p[q]) >> 15 == target) list.Add((p[q], q));
                    inBucket.Add([.. list]);
                }, 1 << 16);
                var candidates = inBucket.SelectMany(a => a).ToArray();
                Array.Sort(candidates, (a, b) => a.V != b.V ? b.V.CompareTo(a.V) : a.Q.CompareTo(b.Q));
                var (tau, at) = candidates[m - above - 1];
                FillCuts(tau, at, thresholds, cuts);
            }
        }
    }
}
