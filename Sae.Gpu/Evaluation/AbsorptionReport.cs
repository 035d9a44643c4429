using SaeGpu.Data;
using SaeGpu.Compute;
using SaeGpu.Training;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>
/// How an SAE represents hierarchical ground truth (<see cref="HierarchicalActivations"/>), measured on held-out tokens with
/// the SAE's inference encoding. Each parent feature p (a feature with children) is matched to its best decoder row j*(p)
/// (largest cosine) when that cosine reaches a minimum (<see cref="DefaultMinCosine"/>, ours: a parent the SAE did not
/// learn has no latent whose silence could be absorption, and is counted in <see cref="ParentsUnmatched"/> instead); then
/// <c>absorption(p) = P(j*(p) does not fire | p and one of its children fire)</c> and
/// <c>missAlone(p) = P(j*(p) does not fire | p fires, none of its children does)</c>. <see cref="Absorption"/> and
/// <see cref="MissAlone"/> average them over the parents that had such tokens. A parent latent that is "absorbed" keeps
/// firing alone but goes quiet when a child's latent carries the parent's direction instead, so absorption well above
/// missAlone is the signature (ours: a ground-truth version of the SAEBench first-letter metric, which needs no probes).
/// </summary>
/// <param name="Fvu">Fraction of variance unexplained on the held-out tokens.</param>
/// <param name="L0">Mean active latents per token.</param>
/// <param name="Recovery">Recovery of all true features (mean max cosine, fraction ≥ 0.9).</param>
/// <param name="Levels">Recovery of the true features of each tree level (index 0 = roots).</param>
/// <param name="Absorption">Mean over parents of absorption(p).</param>
/// <param name="MissAlone">Mean over parents of missAlone(p).</param>
/// <param name="ParentsMeasured">Matched parents with at least one token where a child fired.</param>
/// <param name="ParentsUnmatched">Parents whose best decoder row has a cosine below the minimum: left out of both means.</param>
public sealed record AbsorptionReport(double Fvu, double L0, GroundTruthRecovery Recovery, IReadOnlyList<GroundTruthRecovery> Levels,
    double Absorption, double MissAlone, int ParentsMeasured, int ParentsUnmatched)
{
    /// <summary>The default minimum cosine between a parent's direction and its latent's decoder row (0.5; ours).</summary>
    public const double DefaultMinCosine = 0.5;

    /// <summary>
    /// Encodes <paramref name="tokens"/> fresh tokens of <paramref name="source"/> with <paramref name="sae"/> and measures
    /// them, matching a parent to a latent only when their cosine is at least <paramref name="minCosine"/> (in [0, 1]).
    /// </summary>
    public static AbsorptionReport Measure(SparseAutoencoder sae, HierarchicalActivations source, int tokens, double minCosine = DefaultMinCosine)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokens);
        if (!(minCosine is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(minCosine), minCosine, "The minimum cosine must be in [0, 1].");
        int d = sae.Config.InputDim, n = source.Features;
        if (source.InputDim != d) throw new ArgumentException($"The source has d = {source.InputDim}; the SAE has d = {d}.");
        var x = new float[(long)tokens * d];
        var active = new byte[(long)tokens * n];
        source.NextBatch(x, active);
        using var codes = sae.EncodeCodes(x);
        double fvu = Metrics.Fvu(x, sae.Decode(codes), d);
        var (offsets, indices, _) = codes.ToHost();
        var (latent, cosine) = GroundTruthRecovery.BestMatches(source.Directions, sae.Backend.ToHost(sae.WDec), d,
            signed: sae.Config.Strategy.SignedCodes);
        var matched = cosine.Select(c => c >= minCosine).ToArray();
        var (absorption, missAlone, measured, unmatched) = ParentMisses(source, active, offsets, indices, latent, matched);
        var levels = Enumerable.Range(0, source.Options.Levels).Select(l =>
        {
            var c = Enumerable.Range(0, n).Where(f => source.Level[f] == l).Select(f => cosine[f]).ToArray();
            return GroundTruthRecovery.Summarize(c);
        }).ToArray();
        return new AbsorptionReport(fvu, (double)offsets[tokens] / tokens, GroundTruthRecovery.Summarize(cosine), levels,
            absorption, missAlone, measured, unmatched);
    }

    private static (double Absorption, double MissAlone, int Measured, int Unmatched) ParentMisses(HierarchicalActivations source,
        byte[] active, int[] offsets, int[] indices, int[] latent, bool[] matched)
    {
        int n = source.Features, tokens = offsets.Length - 1;
        var allParents = Enumerable.Range(0, n).Where(f => source.Children(f).Any()).ToArray();
        var parents = allParents.Where(p => matched[p]).ToArray();
        var (withChild, missedWithChild, alone, missedAlone) = (new int[n], new int[n], new int[n], new int[n]);
        for (int t = 0; t < tokens; t++)
        {
            int rowStart = t * n;
            var fired = indices.AsSpan(offsets[t], offsets[t + 1] - offsets[t]);
            foreach (int p in parents)
            {
                if (active[rowStart + p] == 0) continue;
                bool child = source.Children(p).Any(c => active[rowStart + c] != 0), missed = !fired.Contains(latent[p]);
                if (child) { withChild[p]++; if (missed) missedWithChild[p]++; }
                else { alone[p]++; if (missed) missedAlone[p]++; }
            }
        }
        var measured = parents.Where(p => withChild[p] > 0).ToArray();
        var aloneMeasured = parents.Where(p => alone[p] > 0).ToArray();
        double absorption = measured.Length == 0 ? double.NaN : measured.Average(p => (double)missedWithChild[p] / withChild[p]);
        double miss = aloneMeasured.Length == 0 ? double.NaN : aloneMeasured.Average(p => (double)missedAlone[p] / alone[p]);
        return (absorption, miss, measured.Length, allParents.Length - parents.Length);
    }
}
