namespace SaeGpu.Kernels;

internal static partial class GatherCodes
{
    /// <summary>Fast CPU path: rows in parallel.</summary>
    public static unsafe void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> pre, Span<float> values)
    {
        int b = offsets.Length - 1, f = pre.Length / b;
        fixed (int* po = offsets) fixed (int* pi = indices) fixed (float* pp = pre) fixed (float* pv = values)
        {
            var job = new Job(po, pi, pp, pv, f);
            Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) job.Row(r); }, 64);
        }
    }

    private readonly unsafe struct Job(int* offsets, int* indices, float* pre, float* values, int f)
    {
        public void Row(int r)
        {
            for (int p = offsets[r]; p < offsets[r + 1]; p++) values[p] = pre[(long)r * f + indices[p]];
        }
    }
}
