using System.Buffers;
using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class MatchingPursuit
{
    /// <summary>Rows per block of the CPU path: each step correlates a block's residuals with all atoms in one GEMM.</summary>
    public const int CpuBlockRows = 256;

    /// <summary>
    /// Fast CPU path: blocks of rows; each of the k steps is one blocked GEMM (<see cref="Encode.Cpu"/>: residual · atomsᵀ)
    /// followed, rows in parallel, by a vectorized argmax of |c| and an axpy update of the residual. Picks are kept per row
    /// in padded slots (a re-pick accumulates), then sorted by atom and compacted to CSR.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> x, ReadOnlySpan<float> atoms, int k, Span<int> offsets, Span<int> indices,
        Span<float> values, Span<float> residual)
    {
        int b = offsets.Length - 1, d = x.Length / b, n = atoms.Length / d;
        x.CopyTo(residual);
        var counts = new int[b];
        var (zeroD, zeroN) = (new float[d], new float[n]);
        float[] corr = ArrayPool<float>.Shared.Rent(Math.Min(b, CpuBlockRows) * n);
        try
        {
            for (int lo = 0; lo < b; lo += CpuBlockRows)
            {
                int rows = Math.Min(CpuBlockRows, b - lo);
                var res = residual.Slice(lo * d, rows * d);
                var cor = corr.AsSpan(0, rows * n);
                for (int step = 0; step < k; step++)
                {
                    Encode.Cpu(res, zeroD, atoms, zeroN, cor);
                    PickAll(cor, atoms, res, lo, rows, k, counts, indices, values);
                }
            }
        }
        finally { ArrayPool<float>.Shared.Return(corr); }
        for (int row = 0; row < b; row++) SortSlots(indices.Slice(row * k, counts[row]), values.Slice(row * k, counts[row]));
        Csr.CompactPadded(counts, k, offsets, indices, values);
    }

    private static unsafe void PickAll(Span<float> cor, ReadOnlySpan<float> atoms, Span<float> res, int lo, int rows, int k,
        int[] counts, Span<int> indices, Span<float> values)
    {
        int d = res.Length / rows, n = cor.Length / rows;
        fixed (float* pc = cor) fixed (float* pa = atoms) fixed (float* pr = res) fixed (int* pi = indices) fixed (float* pv = values)
        fixed (int* pn = counts)
        {
            var job = new PickJob(pc, pa, pr, pi, pv, pn, lo, n, d, k);
            Simd.ParallelChunks(rows, (a, z) => { for (int r = a; r < z; r++) job.Row(r); }, 8);
        }
    }

    private readonly unsafe struct PickJob(float* cor, float* atoms, float* res, int* indices, float* values, int* counts,
        int lo, int n, int d, int k)
    {
        public void Row(int r)
        {
            var c = new ReadOnlySpan<float>(cor + (long)r * n, n);
            int j = ArgMaxAbs(c);
            if (j < 0) return;
            float a = c[j];
            int row = lo + r, slot = 0;
            long b0 = (long)row * k;
            while (slot < counts[row] && indices[b0 + slot] != j) slot++;
            if (slot == counts[row]) { indices[b0 + slot] = j; values[b0 + slot] = 0; counts[row]++; }
            values[b0 + slot] += a;
            Simd.Axpy(-a, new ReadOnlySpan<float>(atoms + (long)j * d, d), new Span<float>(res + (long)r * d, d));
        }
    }

    /// <summary>First index of the largest |c| (−1 when all are 0): a Vector256 max pass, then a scan for its first position.</summary>
    public static int ArgMaxAbs(ReadOnlySpan<float> c)
    {
        var m = Vector256<float>.Zero;
        int i = 0;
        for (; i <= c.Length - 8; i += 8) m = Vector256.Max(m, Vector256.Abs(Vector256.Create(c.Slice(i, 8))));
        float best = 0;
        for (int l = 0; l < 8; l++) best = Math.Max(best, m[l]);
        for (; i < c.Length; i++) best = Math.Max(best, Math.Abs(c[i]));
        if (best == 0) return -1;
        for (i = 0; i < c.Length; i++) if (Math.Abs(c[i]) == best) return i;
        return -1;
    }

    private static void SortSlots(Span<int> idx, Span<float> val)
    {
        for (int a = 1; a < idx.Length; a++)
            for (int z = a; z > 0 && idx[z - 1] > idx[z]; z--)
            {
                (idx[z - 1], idx[z]) = (idx[z], idx[z - 1]);
                (val[z - 1], val[z]) = (val[z], val[z - 1]);
            }
    }
}
