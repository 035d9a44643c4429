namespace SaeGpu;

/// <summary>
/// Reconstruction metrics of an SAE on T tokens x [T, d] (<see cref="SparseAutoencoder.Evaluate(ReadOnlySpan{float})"/>):
/// FVU = Σ‖x − x̂‖² / Σ‖x − x̄‖² (x̄ the mean over all T rows), MSE = Σ‖x − x̂‖² / (T·d), L0 = mean active latents per token.
/// </summary>
/// <param name="Tokens">T, the rows evaluated.</param>
/// <param name="Fvu">Fraction of variance unexplained.</param>
/// <param name="Mse">Element-wise mean squared error.</param>
/// <param name="L0">Mean number of active latents per token.</param>
/// <param name="DeadFraction">Fraction of the F latents that never fired on these tokens.</param>
/// <param name="Firing">Histogram of the latents' firing frequencies on these tokens.</param>
/// <param name="PrefixFvu">
/// Matryoshka SAEs: the FVU of each nested prefix x̂_i = a[:, 0:m_i]·W_dec[0:m_i] + b_dec (the last is <paramref name="Fvu"/>);
/// null otherwise.
/// </param>
/// <param name="ActivePerToken">
/// The distribution of active latents per token: entry n = tokens with exactly n active latents (n = 0 … the largest seen).
/// For top-AFA it is the distribution of the chosen k*; empty when not measured.
/// </param>
public sealed record SaeMetrics(long Tokens, double Fvu, double Mse, double L0, double DeadFraction, FiringHistogram Firing,
    IReadOnlyList<double>? PrefixFvu = null, IReadOnlyList<long>? ActivePerToken = null)
{
    /// <summary>The smallest n such that at least a fraction <paramref name="q"/> of the tokens have ≤ n active latents (q in [0, 1]).</summary>
    public int ActiveQuantile(double q)
    {
        var counts = ActivePerToken ?? throw new InvalidOperationException("These metrics carry no per-token distribution.");
        long total = counts.Sum(), seen = 0;
        for (int n = 0; n < counts.Count; n++)
            if ((seen += counts[n]) >= q * total && seen > 0) return n;
        return counts.Count - 1;
    }

    /// <summary>Fraction of variance unexplained of a reconstruction: Σ‖x − x̂‖² / Σ‖x − x̄‖² over rows x, x̂ [T, d].</summary>
    public static double ComputeFvu(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, int d) => Evaluation.Metrics.Fvu(x, xhat, d);
}
