namespace SaeGpu.Kernels;

/// <summary>
/// TopK selection into CSR sparse codes. For each row b of pre [B, F], keeps the k entries with the largest score
/// (ties: lower latent index wins) among those with a positive score, writing their values:
/// <list type="bullet">
/// <item>TopK (absolute = false): score = pre, so only pre &gt; 0 competes — TopK on ReLU(pre);</item>
/// <item>AbsTopK (absolute = true): score = |pre|, values keep their sign (AbsTopK, arXiv 2510.00404: hard thresholding,
/// the prox of the indicator of {‖z‖₀ ≤ k} without non-negativity); exact zeros never compete.</item>
/// </list>
/// A row holds min(k, #eligible) entries. Output: offsets [B+1], indices and values with capacity ≥ B·k; within a row,
/// entries are ordered by latent index ascending.
/// </summary>
public static partial class TopK
{
    /// <summary>Scalar oracle: full sort of each row's positive entries by (value desc, index asc).</summary>
    public static void Reference(ReadOnlySpan<float> pre, int f, int k, bool absolute, Span<int> offsets, Span<int> indices, Span<float> values)
    {
        int b = pre.Length / f;
        var counts = new int[b];
        for (int r = 0; r < b; r++)
        {
            var row = pre.Slice(r * f, f);
            var positive = new List<int>();
            var rowArr = row.ToArray();
            var score = rowArr.Select(v => absolute ? Math.Abs(v) : v).ToArray();
            for (int j = 0; j < f; j++) if (score[j] > 0) positive.Add(j);
            positive.Sort((p, q) => score[p] != score[q] ? score[q].CompareTo(score[p]) : p.CompareTo(q));
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
