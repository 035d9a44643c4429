namespace SaeGpu.Kernels;

/// <summary>
/// Thresholds for Feature Choice: each latent j keeps the m_j = budgets[j] largest positive entries of its column pre[:, j]
/// (ties: lower row first). Writes thresholds[j] = the m_j-th value and cuts[j] = its row, for <see cref="ThresholdSelect"/>;
/// a column with fewer than m_j positive entries keeps them all (threshold 0, cut −1); m_j ≤ 0 keeps none (threshold +∞,
/// cut −1). Shapes: pre [B, F]; budgets, thresholds, cuts [F].
/// </summary>
internal static partial class ColumnTopKThreshold
{
    /// <summary>Scalar oracle: sort each column.</summary>
    public static void Reference(ReadOnlySpan<float> pre, ReadOnlySpan<int> budgets, Span<float> thresholds, Span<int> cuts)
    {
        int f = thresholds.Length, b = pre.Length / f;
        for (int j = 0; j < f; j++)
        {
            int m = budgets[j];
            if (m <= 0) { thresholds[j] = float.PositiveInfinity; cuts[j] = -1; continue; }
            var col = new List<(float V, int Row)>();
            for (int r = 0; r < b; r++) if (pre[r * f + j] > 0) col.Add((pre[r * f + j], r));
            if (col.Count < m) { thresholds[j] = 0; cuts[j] = -1; continue; }
            col.Sort((x, y) => x.V != y.V ? y.V.CompareTo(x.V) : x.Row.CompareTo(y.Row));
            (thresholds[j], cuts[j]) = col[m - 1];
        }
    }
}
