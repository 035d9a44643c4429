using System.Buffers;

namespace SaeGpu.Kernels;

/// <summary>
/// The latent-range passes of the CPU gathers from W [F, d] (<see cref="SparseDecode.CpuPasses"/>): with passes clamped
/// to [1, max(F, 1)], pass s covers latents [F·s/passes, F·(s+1)/passes) — never empty when F ≥ 1, so only the first
/// starts at latent 0; in each, rows run in parallel and each sees the positions of its entries in the range, in order.
/// </summary>
internal static unsafe class LatentPasses
{
    /// <summary>Runs row(r, l0, l1, list) for every row in every pass; list has room for the longest row.</summary>
    public static void Run(int* offsets, int b, int f, int passes, RowAction row)
    {
        int longest = 0;
        for (int r = 0; r < b; r++) longest = Math.Max(longest, offsets[r + 1] - offsets[r]);
        passes = Math.Clamp(passes, 1, Math.Max(1, f));
        for (int s = 0; s < passes; s++)
        {
            int l0 = (int)((long)f * s / passes), l1 = (int)((long)f * (s + 1) / passes);
            Simd.ParallelChunks(b, (lo, hi) =>
            {
                int[] list = ArrayPool<int>.Shared.Rent(longest + 1);
                fixed (int* pl = list)
                    for (int r = lo; r < hi; r++) row(r, l0, l1, pl);
                ArrayPool<int>.Shared.Return(list);
            }, 8);
        }
    }

    /// <summary>Writes the positions p of row r with l0 ≤ indices[p] &lt; l1 to list, in order; returns how many (no branch on the data).</summary>
    public static int Select(int* offsets, int* indices, int r, int l0, int l1, int* list)
    {
        int n = 0;
        uint width = (uint)(l1 - l0);
        for (int p = offsets[r]; p < offsets[r + 1]; p++)
        {
            list[n] = p;
            n += (uint)(indices[p] - l0) < width ? 1 : 0;
        }
        return n;
    }

    /// <summary>One row's part of one pass.</summary>
    public delegate void RowAction(int r, int l0, int l1, int* list);
}
