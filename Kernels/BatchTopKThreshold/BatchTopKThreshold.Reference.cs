namespace SaeGpu.Kernels;

/// <summary>
/// Thresholds for BatchTopK / Mutual Choice: the m = k·B largest positive entries of the whole pre [B, F] batch
/// (ties: lower flat index b·F + j first). Writes per-latent thresholds [F] and row cuts [F] for
/// <see cref="ThresholdSelect"/> so that exactly those m entries pass: with τ the m-th value at flat index q = r*·F + j*,
/// thresholds[j] = τ and cuts[j] = r* for j ≤ j*, r* − 1 for j &gt; j*. With at most m positive entries all pass
/// (thresholds 0, cuts −1).
/// </summary>
internal static partial class BatchTopKThreshold
{
    /// <summary>Scalar oracle: sort every positive entry.</summary>
    public static void Reference(ReadOnlySpan<float> pre, int m, Span<float> thresholds, Span<int> cuts)
    {
        var positive = new List<(float V, long Q)>();
        for (int q = 0; q < pre.Length; q++) if (pre[q] > 0) positive.Add((pre[q], q));
        if (positive.Count <= m) { KeepAllPositive(thresholds, cuts); return; }
        positive.Sort((a, b) => a.V != b.V ? b.V.CompareTo(a.V) : a.Q.CompareTo(b.Q));
        FillCuts(positive[m - 1].V, positive[m - 1].Q, thresholds, cuts);
    }

    /// <summary>thresholds = 0, cuts = −1: every positive entry passes.</summary>
    public static void KeepAllPositive(Span<float> thresholds, Span<int> cuts)
    {
        thresholds.Clear();
        cuts.Fill(-1);
    }

    /// <summary>Per-latent threshold and cut that keep every entry before (τ, flat index q) in the selection order.</summary>
    public static void FillCuts(float tau, long q, Span<float> thresholds, Span<int> cuts)
    {
        int f = thresholds.Length, rStar = (int)(q / f), jStar = (int)(q % f);
        thresholds.Fill(tau);
        for (int j = 0; j < f; j++) cuts[j] = j <= jStar ? rStar : rStar - 1;
    }
}
