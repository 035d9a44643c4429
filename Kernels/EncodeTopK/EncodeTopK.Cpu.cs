using System.Buffers;

namespace SaeGpu.Kernels;

internal static partial class EncodeTopK
{
    /// <summary>
    /// Fast CPU path, bit-identical to <see cref="Encode.Cpu"/> then <see cref="MaskLatents.Cpu"/> then <see cref="TopK.Cpu"/>:
    /// blocks of up to 64 rows run in parallel; each computes 64-latent tiles of pre (only eligible latents) into a 16 KB
    /// buffer with <see cref="CpuGemm"/> and offers them at once to its rows' selections (<see cref="RowSelect"/>), so pre [B, F]
    /// never exists. AbsTopK's signed values are recomputed for the k kept entries by the same arithmetic.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc,
        ReadOnlySpan<int> mask, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        int d = bDec.Length, b = x.Length / d;
        int[] eligible = mask.IsEmpty ? [] : Eligible(mask);
        int m = mask.IsEmpty ? bEnc.Length : eligible.Length;
        float[] xc = Encode.RentCentered(x, bDec);
        int[] counts = ArrayPool<int>.Shared.Rent(b);
        try
        {
            unsafe
            {
                fixed (float* px = xc) fixed (float* pw = wEnc) fixed (float* pb = bEnc) fixed (int* pl = eligible)
                fixed (int* pi = indices) fixed (float* pv = values) fixed (float* pt = targetNorms)
                {
                    var job = new BlockJob(new CpuGemm(px, pw, pb, d, mask.IsEmpty ? null : pl), mask.IsEmpty ? null : pl, m,
                        pi, pv, k, absolute, targetNorms.IsEmpty ? null : pt);
                    var cnt = counts;
                    int rows = RowsPerBlock(b), blocks = (b + rows - 1) / rows;
                    Parallel.For(0, blocks, q => job.Rows(q * rows, Math.Min(b, q * rows + rows), cnt));
                }
            }
            Csr.CompactPadded(counts.AsSpan(0, b), k, offsets, indices, values);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xc);
            ArrayPool<int>.Shared.Return(counts);
        }
    }

    private static int[] Eligible(ReadOnlySpan<int> mask)
    {
        var list = new List<int>();
        for (int j = 0; j < mask.Length; j++) if (mask[j] != 0) list.Add(j);
        return [.. list];
    }

    // Enough blocks for every core (two per core), each a multiple of the 4-row register block, at most one 64-row tile.
    private static int RowsPerBlock(int b)
    {
        int perCore = (b + 2 * Environment.ProcessorCount - 1) / (2 * Environment.ProcessorCount);
        return Math.Clamp((perCore + 3) / 4 * 4, 4, Encode.CpuTile);
    }

    private readonly unsafe struct BlockJob(CpuGemm gemm, int* map, int m, int* indices, float* values, int k, bool absolute, float* targets)
    {
        public void Rows(int r0, int r1, int[] counts)
        {
            const int t = Encode.CpuTile;
            float* tile = stackalloc float[t * t];
            int* n = stackalloc int[t];
            float* bar = stackalloc float[t];
            new Span<int>(n, t).Clear();
            new Span<float>(bar, t).Clear();
            using var buffer = new RowSelect.Buffer(r1 - r0, k);
            for (int c0 = 0; c0 < m; c0 += t)
            {
                int c1 = Math.Min(m, c0 + t);
                gemm.Tile(r0, r1, c0, c1, tile, t);
                for (int a = 0; a < r1 - r0; a++)
                    buffer.Row(a, absolute).OfferAll(tile + a * t, c1 - c0, c0, map, ref n[a], ref bar[a]);
            }
            for (int r = r0; r < r1; r++) counts[r] = Finish(r, buffer.Row(r - r0, absolute), n[r - r0]);
        }

        private int Finish(int r, RowSelect select, int n)
        {
            int* rowIdx = indices + (long)r * k;
            float* rowVal = values + (long)r * k;
            n = select.Finish(n, targets == null ? float.NaN : targets[r], rowIdx, rowVal);
            if (absolute)
                for (int q = 0; q < n; q++) rowVal[q] = gemm.Pre(r, rowIdx[q]);
            return n;
        }
    }
}
