namespace SaeGpu.Kernels;

/// <summary>Helpers for the CSR sparse-code layout: offsets [B+1], index [nnz], value [nnz].</summary>
internal static class Csr
{
    /// <summary>Row of entry <paramref name="p"/>: the r with offsets[r] ≤ p &lt; offsets[r+1] (binary search; empty rows skipped).</summary>
    public static int RowOf(ReadOnlySpan<int> offsets, int p)
    {
        int lo = 0, hi = offsets.Length - 2;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >> 1;
            if (offsets[mid] <= p) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>
    /// Compacts rows stored padded at stride <paramref name="k"/> (row b's entries at b·k .. b·k+counts[b]) to CSR in place,
    /// writing offsets [B+1]. Destinations never pass their sources, so one forward pass is safe.
    /// </summary>
    public static void CompactPadded(ReadOnlySpan<int> counts, int k, Span<int> offsets, Span<int> indices, Span<float> values)
    {
        int pos = 0;
        offsets[0] = 0;
        for (int b = 0; b < counts.Length; b++)
        {
            int c = counts[b];
            if (pos != b * k)
            {
                indices.Slice(b * k, c).CopyTo(indices.Slice(pos, c));
                values.Slice(b * k, c).CopyTo(values.Slice(pos, c));
            }
            pos += c;
            offsets[b + 1] = pos;
        }
    }

    /// <summary>Selection order: larger score first; equal scores → lower index first.</summary>
    public static bool Before(float va, int ia, float vb, int ib) => va > vb || (va == vb && ia < ib);
}
