using System.Buffers;

namespace SaeGpu.Kernels;

internal static partial class AggregateByLatent
{
    /// <summary>
    /// Fast CPU path: histogram latents and build the latent → entry index by a counting sort (serial, O(nnz)),
    /// then latents in parallel, each summing its entries' rows in registers, 128 (AVX-512) or 64 floats at a time
    /// (<see cref="Simd.AccumulateRows"/>) — no atomics on the weights.
    /// </summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> g,
        ReadOnlySpan<float> v, ReadOnlySpan<float> center, bool accumulate, Span<float> gW, Span<float> gSum, Span<int> counts)
    {
        int d = center.Length, f = gSum.Length, b = offsets.Length - 1, nnz = offsets[b];
        int[] start = ArrayPool<int>.Shared.Rent(f + 1), entry = ArrayPool<int>.Shared.Rent(nnz + 1),
            rowOf = ArrayPool<int>.Shared.Rent(nnz + 1);
        try
        {
            counts.Clear();
            for (int p = 0; p < nnz; p++) counts[indices[p]]++;
            ExclusiveScan.Cpu(counts, start);
            for (int r = 0; r < b; r++)
                for (int p = offsets[r]; p < offsets[r + 1]; p++)
                {
                    int q = start[indices[p]]++;
                    entry[q] = p;
                    rowOf[q] = r;
                }
            ExclusiveScan.Cpu(counts, start);
            unsafe
            {
                fixed (float* pg = g) fixed (float* pv = v) fixed (float* pc = center) fixed (float* pw = gW) fixed (float* ps = gSum)
                {
                    var job = new Job(start, entry, rowOf, pg, pv, pc, pw, ps, d, accumulate);
                    Simd.ParallelChunks(f, (lo, hi) => { for (int j = lo; j < hi; j++) job.Latent(j); }, 16);
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(start);
            ArrayPool<int>.Shared.Return(entry);
            ArrayPool<int>.Shared.Return(rowOf);
        }
    }

    private readonly unsafe struct Job(int[] start, int[] entry, int[] rowOf, float* g, float* v, float* center,
        float* gW, float* gSum, int d, bool accumulate)
    {
        public void Latent(int j)
        {
            float* o = gW + (long)j * d;
            if (!accumulate) new Span<float>(o, d).Clear();
            int q0 = start[j], q1 = start[j + 1];
            float s = 0;
            for (int q = q0; q < q1; q++) s += g[entry[q]];
            Simd.AccumulateRows(new Entries(entry, rowOf, g, v, d), q0, q1, o, d);
            gSum[j] = accumulate ? gSum[j] + s : s;
            if (s != 0) Simd.Axpy(-s, new ReadOnlySpan<float>(center, d), new Span<float>(o, d));
        }
    }

    // Entry q of a latent's list: weight g[entry q], row v[row of entry q].
    private readonly unsafe struct Entries(int[] entry, int[] rowOf, float* g, float* v, int d) : IWeightedRows
    {
        public float Weight(int q) => g[entry[q]];

        public float* Row(int q) => v + (long)rowOf[q] * d;
    }
}
