using SaeGpu.Compute;
using SaeGpu.Training;
using SaeGpu.Data;
using SaeGpu.Evaluation;
namespace SaeGpu;

/// <summary>How well decoder rows match known feature directions.</summary>
/// <param name="RecoveredFraction">Fraction of true features whose best-matching decoder row has cosine ≥ the threshold.</param>
/// <param name="MeanMaxCosine">Mean over true features of the largest cosine to any decoder row.</param>
public sealed record GroundTruthRecovery(double RecoveredFraction, double MeanMaxCosine)
{
    /// <summary>Default cosine threshold for a feature to count as recovered.</summary>
    public const double DefaultThreshold = 0.9;

    /// <summary>
    /// Compares true directions [N, d] with decoder rows W_dec [F, d]: for each true feature n,
    /// <c>m_n = max_j cos(true_n, W_dec[j])</c> (|cos| when <paramref name="signed"/>: a signed code such as AbsTopK's
    /// represents f with −d_j as well as d_j); recovered = mean(m_n ≥ threshold), mean max cosine = mean(m_n).
    /// </summary>
    public static GroundTruthRecovery Compute(ReadOnlySpan<float> trueDirections, ReadOnlySpan<float> wDec, int d,
        double threshold = DefaultThreshold, bool signed = false)
    {
        var (_, cosine) = BestMatches(trueDirections, wDec, d, signed);
        return Summarize(cosine, threshold);
    }

    /// <summary>
    /// <see cref="Compute"/> for <paramref name="sae"/>'s decoder rows, signed when its architecture's codes can be negative.
    /// </summary>
    public static GroundTruthRecovery Of(SparseAutoencoder sae, ReadOnlySpan<float> trueDirections, double threshold = DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(sae);
        return Compute(trueDirections, sae.Backend.ToHost(sae.WDec), sae.Config.InputDim, threshold, sae.Config.Strategy.SignedCodes);
    }

    /// <summary>Recovered fraction (m_n ≥ <paramref name="threshold"/>) and mean of the best cosines m_n [N].</summary>
    internal static GroundTruthRecovery Summarize(IReadOnlyCollection<double> cosine, double threshold = DefaultThreshold) =>
        new((double)cosine.Count(c => c >= threshold) / cosine.Count, cosine.Average());

    /// <summary>
    /// For each true feature n of directions [N, d]: the decoder row j of W_dec [F, d] with the largest cos(true_n, W_dec[j])
    /// (|cos| when <paramref name="signed"/>), and that cosine. Zero rows never match.
    /// </summary>
    internal static (int[] Latent, double[] Cosine) BestMatches(ReadOnlySpan<float> trueDirections, ReadOnlySpan<float> wDec, int d,
        bool signed = false)
    {
        if (d < 1 || trueDirections.Length == 0 || trueDirections.Length % d != 0 || wDec.Length == 0 || wDec.Length % d != 0)
            throw new ArgumentException($"Directions ({trueDirections.Length} values) and W_dec ({wDec.Length}) must be non-empty multiples of d = {d}.");
        int n = trueDirections.Length / d, f = wDec.Length / d;
        var norms = new double[f];
        for (int j = 0; j < f; j++) norms[j] = Math.Sqrt(Dot(wDec.Slice(j * d, d), wDec.Slice(j * d, d)));
        var (latent, cosine) = (new int[n], new double[n]);
        for (int t = 0; t < n; t++)
        {
            var v = trueDirections.Slice(t * d, d);
            double vn = Math.Sqrt(Dot(v, v));
            (latent[t], cosine[t]) = (-1, -1);
            for (int j = 0; j < f; j++)
            {
                if (norms[j] == 0) continue;
                double cos = Dot(v, wDec.Slice(j * d, d)) / (vn * norms[j]);
                if (signed) cos = Math.Abs(cos);
                if (cos > cosine[t]) (latent[t], cosine[t]) = (j, cos);
            }
        }
        return (latent, cosine);
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }
}
