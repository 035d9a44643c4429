namespace SaeGpu.Kernels;

/// <summary>
/// TopK selection on ReLU(pre) into CSR sparse codes. For each row b of pre [B, F], keeps the k largest strictly
/// positive entries (ties: lower latent index wins), so a row holds min(k, #positive) entries. Output: offsets [B+1],
/// indices and values with capacity B·k; within a row, entries are ordered by latent index ascending.
/// </summary>
public static partial class TopK
{
    /// <summary>Scalar oracle: full sort of each row's positive entries by (value desc, index asc).</summary>
    public static void Reference(ReadOnlySpan<float> pre, int f, int k, Span<int> offsets, Span<int> indices, Span<float> values)
    {
        int b = pre.Length / f;
        var counts = new int[b];
        for (int r = 0; r < b; r++)
        {
            var row = pre.Slice(r * f, f);
            var positive = new List<int>();
            for (int j = 0; j < f; j++) if (row[j] > 0) positive.Add(j);
            var rowArr = row.ToArray();
            positive.Sort((p, q) => rowArr[p] != rowArr[q] ? rowArr[q].CompareTo(rowArr[p]) : p.CompareTo(q));
            var kept = positive.Take(k).Order().ToArray();
            for (int s = 0; s < kept.Length; s++)
            {
                indices[r * k + s] = kept[s];
                values[r * k + s] = rowArr[kept[s]];
            }
            counts[r] = kept.Length;
        }
        Csr.CompactPadded(counts, k, offsets, indices, values);
    }
}
