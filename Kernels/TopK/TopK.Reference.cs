namespace SaeGpu.Kernels;

/// <summary>
/// TopK selection into CSR sparse codes. For each row b of pre [B, F], keeps the k entries with the largest score
/// (ties: lower latent index wins) among those with a positive score, writing their values:
/// <list type="bullet">
/// <item>TopK (absolute = false): score = pre, so only pre &gt; 0 competes — TopK on ReLU(pre);</item>
/// <item>AbsTopK (absolute = true): score = |pre|, values keep their sign (AbsTopK, arXiv 2510.00404: hard thresholding,
/// the prox of the indicator of {‖z‖₀ ≤ k} without non-negativity); exact zeros never compete.</item>
/// </list>
/// <item>top-AFA (targetNorms non-empty, arXiv 2503.24277): per row b the count is chosen from the score-ordered
/// candidates as k* = argmin_{1 ≤ t ≤ min(k, #eligible)} |c_t − targetNorms[b]| (first on ties), with
/// c_t = √(Σ_{i ≤ t} score_(i)²) — the norm of the code when decoder rows have unit norm — so k caps k*.</item>
/// A row holds min(k, #eligible) entries (k* for top-AFA). Output: offsets [B+1], indices and values with capacity ≥ B·k; within a row,
/// entries are ordered by latent index ascending.
/// </summary>
internal static partial class TopK
{
    /// <summary>Scalar oracle: full sort of each row's positive entries by (value desc, index asc).</summary>
    public static void Reference(ReadOnlySpan<float> pre, int f, int k, bool absolute, ReadOnlySpan<float> targetNorms,
        Span<int> offsets, Span<int> indices, Span<float> values)
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
            int keep = Math.Min(k, positive.Count);
            if (!targetNorms.IsEmpty) keep = AfaKeep([.. positive.Take(keep).Select(j => score[j])], targetNorms[r]);
            var kept = positive.Take(keep).Order().ToArray();
            for (int s = 0; s < kept.Length; s++)
            {
                indices[r * k + s] = kept[s];
                values[r * k + s] = rowArr[kept[s]];
            }
            counts[r] = kept.Length;
        }
        Csr.CompactPadded(counts, k, offsets, indices, values);
    }

    /// <summary>top-AFA's count for scores in selection order: argmin_t |√(Σ_{i≤t} s_i²) − target| over 1 ≤ t ≤ n (first on ties).</summary>
    public static int AfaKeep(ReadOnlySpan<float> scoresByRank, float target)
    {
        double c2 = 0, previous = 0;
        for (int t = 1; t <= scoresByRank.Length; t++)
        {
            c2 += (double)scoresByRank[t - 1] * scoresByRank[t - 1];
            double c = Math.Sqrt(c2);
            if (c >= target) return t > 1 && Math.Abs(previous - target) <= Math.Abs(c - target) ? t - 1 : t;
            previous = c;
        }
        return scoresByRank.Length;
    }
}
