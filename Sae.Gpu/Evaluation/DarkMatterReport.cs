using SaeGpu.Compute;
using SaeGpu.Training;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>
/// "Dark matter" of an SAE (Engels et al., arXiv 2410.14670, as in PAPERS §2): how much of the error e = x − x̂ is linearly
/// predictable from the input x. Tokens are shuffled (seeded) and split; on the fit part, least squares in float64 without
/// intercept gives W* = argmin Σ‖e − W x‖² and a scalar fit of ‖e‖² from x; both are scored on the held-out part. The
/// linear/nonlinear split refits W* on all tokens: linear error W*x, nonlinear error e − W*x.
/// </summary>
/// <param name="Tokens">Tokens analysed.</param>
/// <param name="FitTokens">Tokens of the fit split (the rest are held out).</param>
/// <param name="Fvu">Σ‖e‖² / Σ‖x − x̄‖².</param>
/// <param name="L0">Mean active latents per token of the SAE's inference encoding.</param>
/// <param name="ErrorR2">Held-out R² of the vector prediction, per dimension then averaged: mean_i [1 − Σ r_i² / Σ (e_i − ē_i)²].</param>
/// <param name="PredictableFraction">Held-out fraction of the error's squared norm that the prediction removes: 1 − Σ‖e − W*x‖² / Σ‖e‖².</param>
/// <param name="NormR2">Held-out R² of predicting ‖e‖² (a scalar per token) linearly from x, with an intercept (ours: ‖e‖² has a positive mean).</param>
/// <param name="LinearShare">All tokens: Σ‖W*x‖² / Σ‖e‖².</param>
/// <param name="NonlinearShare">All tokens: Σ‖e − W*x‖² / Σ‖e‖².</param>
/// <param name="NonlinearFvu">FVU when x̂ + W*x replaces x̂: Σ‖e − W*x‖² / Σ‖x − x̄‖².</param>
/// <param name="PursuitK">The latents per token inference-time gradient pursuit may use (default: the SAE's L0, rounded).</param>
/// <param name="PursuitFvu">
/// FVU of gradient pursuit over the SAE's decoder with at most <paramref name="PursuitK"/> latents per token (Blumensath &amp;
/// Davies 2008): per token, r = x − b_dec; k times add argmax_j W_dec·r (non-negative) or argmax_j |W_dec·r| (signed) to the
/// support and take the exact line-search step along the gradient on the support, non-negative codes kept ≥ 0 (the paper's
/// step-size and L0-matching details were not available: ours).
/// </param>
/// <param name="PursuitNonNegative">True when the pursuit's codes were kept ≥ 0, as the SAE's own are (all but AbsTopK).</param>
public sealed record DarkMatterReport(int Tokens, int FitTokens, double Fvu, double L0, double ErrorR2, double PredictableFraction,
    double NormR2, double LinearShare, double NonlinearShare, double NonlinearFvu, int PursuitK, double PursuitFvu, bool PursuitNonNegative)
{
    /// <summary>
    /// Analyses <paramref name="sae"/> on x [T, d], fitting on a shuffled <paramref name="fitFraction"/> of the tokens (seeded by
    /// <paramref name="seed"/>), and compares gradient pursuit with <paramref name="pursuitK"/> latents per token (null: the
    /// SAE's L0, rounded), its codes non-negative when <paramref name="signedPursuit"/> is false (null: signed exactly when the
    /// SAE's codes are, i.e. the pursuit searches the SAE's own code space).
    /// </summary>
    public static DarkMatterReport Measure(SparseAutoencoder sae, ReadOnlySpan<float> x, double fitFraction = 0.5, int seed = 0, int? pursuitK = null,
        bool? signedPursuit = null)
    {
        ArgumentNullException.ThrowIfNull(sae);
        int d = sae.Config.InputDim;
        if (x.Length == 0 || x.Length % d != 0) throw new ArgumentException($"x has {x.Length} values, not a positive multiple of d = {d}.");
        int t = x.Length / d, fit = (int)(t * fitFraction);
        if (fit < 1 || fit >= t) throw new ArgumentException($"fitFraction {fitFraction} leaves no fit or no held-out tokens among {t}.");
        var xs = x.ToArray();
        var (e, nnz) = ErrorsAndNnz(sae, xs);
        var order = Enumerable.Range(0, t).ToArray();
        new Random(seed).Shuffle(order);
        var (fitRows, heldOut) = (order[..fit], order[fit..]);
        var w = FitVector(xs, e, d, fitRows);
        var (errorR2, predictable) = ScoreVector(xs, e, d, heldOut, w);
        double normR2 = ScoreNorm(xs, e, d, fitRows, heldOut);
        var all = FitVector(xs, e, d, order);
        var (linear, nonlinear, total) = Split(xs, e, d, all);
        double variance = Metrics.TotalVariance(x, d);
        double l0 = (double)nnz / t;
        int k = pursuitK ?? Math.Max(1, (int)Math.Round(l0));
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(pursuitK), $"Gradient pursuit needs ≥ 1 latent per token, got {k}.");
        bool nonNegative = !(signedPursuit ?? sae.Config.Strategy.SignedCodes);
        double pursuitFvu = Metrics.Fvu(x, GradientPursuit.Reconstruct(sae.GetParameter("W_dec"), sae.GetParameter("b_dec"), x, k, nonNegative), d);
        return new DarkMatterReport(t, fit, total / variance, l0, errorR2, predictable, normR2, linear / total, nonlinear / total, nonlinear / variance,
            k, pursuitFvu, nonNegative);
    }

    /// <summary>e = x − x̂ [T, d] with the SAE's inference encoding, in chunks of 4,096 tokens.</summary>
    internal static float[] Errors(SparseAutoencoder sae, float[] x) => ErrorsAndNnz(sae, x).Errors;

    private static (float[] Errors, long Nnz) ErrorsAndNnz(SparseAutoencoder sae, float[] x)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentNullException.ThrowIfNull(x);
        int d = sae.Config.InputDim;
        var e = new float[x.Length];
        long nnz = 0;
        for (int lo = 0; lo < x.Length; lo += 4096 * d)
        {
            var chunk = x.AsSpan(lo, Math.Min(4096 * d, x.Length - lo));
            using var codes = sae.EncodeCodes(chunk);
            nnz += codes.StoredEntries();
            var xhat = sae.Decode(codes);
            for (int i = 0; i < chunk.Length; i++) e[lo + i] = chunk[i] - xhat[i];
        }
        return (e, nnz);
    }

    /// <summary>W* [d, d] (row = regressor) fitted on <paramref name="rows"/>: e ≈ W*ᵀ x.</summary>
    internal static double[] FitVector(float[] x, float[] e, int d, IEnumerable<int> rows)
    {
        var ls = new LeastSquares(d, d);
        foreach (int r in rows) ls.Add(Row(x, r, d), Row(e, r, d));
        return ls.Solve();
    }

    private static (double R2, double Predictable) ScoreVector(float[] x, float[] e, int d, int[] rows, double[] w)
    {
        var (mean, res, tot) = (new double[d], new double[d], new double[d]);
        foreach (int r in rows) for (int i = 0; i < d; i++) mean[i] += e[r * d + i] / (double)rows.Length;
        double resAll = 0, normAll = 0;
        foreach (int r in rows)
        {
            var p = Predict(x, r, d, w);
            for (int i = 0; i < d; i++)
            {
                double ei = e[r * d + i], ri = ei - p[i];
                (res[i], tot[i]) = (res[i] + ri * ri, tot[i] + (ei - mean[i]) * (ei - mean[i]));
                (resAll, normAll) = (resAll + ri * ri, normAll + ei * ei);
            }
        }
        double r2 = Enumerable.Range(0, d).Where(i => tot[i] > 0).Select(i => 1 - res[i] / tot[i]).DefaultIfEmpty(0).Average();
        return (r2, normAll > 0 ? 1 - resAll / normAll : 0);
    }

    private static double ScoreNorm(float[] x, float[] e, int d, int[] fitRows, int[] heldOut)
    {
        double Sq(int r) { double s = 0; for (int i = 0; i < d; i++) s += (double)e[r * d + i] * e[r * d + i]; return s; }
        double[] WithOne(int r) => [.. Row(x, r, d), 1.0];
        var ls = new LeastSquares(d + 1, 1);
        foreach (int r in fitRows) ls.Add(WithOne(r), [Sq(r)]);
        var w = ls.Solve();
        double mean = heldOut.Average(Sq), res = 0, tot = 0;
        foreach (int r in heldOut)
        {
            var z = WithOne(r);
            double p = 0, y = Sq(r);
            for (int a = 0; a <= d; a++) p += z[a] * w[a];
            (res, tot) = (res + (y - p) * (y - p), tot + (y - mean) * (y - mean));
        }
        return tot > 0 ? 1 - res / tot : 0;
    }

    private static (double Linear, double Nonlinear, double Total) Split(float[] x, float[] e, int d, double[] w)
    {
        double linear = 0, nonlinear = 0, total = 0;
        for (int r = 0; r < x.Length / d; r++)
        {
            var p = Predict(x, r, d, w);
            for (int i = 0; i < d; i++)
            {
                double ei = e[r * d + i];
                (linear, nonlinear, total) = (linear + p[i] * p[i], nonlinear + (ei - p[i]) * (ei - p[i]), total + ei * ei);
            }
        }
        return (linear, nonlinear, total);
    }

    /// <summary>Per-token nonlinear error e − W*x [T, d] for a W* [d, d] from <see cref="FitVector"/>.</summary>
    internal static float[] Nonlinear(float[] x, float[] e, int d, double[] w)
    {
        var n = new float[e.Length];
        for (int r = 0; r < x.Length / d; r++)
        {
            var p = Predict(x, r, d, w);
            for (int i = 0; i < d; i++) n[r * d + i] = (float)(e[r * d + i] - p[i]);
        }
        return n;
    }

    private static double[] Row(float[] a, int r, int d) => [.. a.AsSpan(r * d, d).ToArray().Select(v => (double)v)];

    private static double[] Predict(float[] x, int r, int d, double[] w)
    {
        int q = d;
        var p = new double[q];
        for (int a = 0; a < d; a++)
        {
            double xa = x[r * d + a];
            for (int c = 0; c < q; c++) p[c] += xa * w[a * q + c];
        }
        return p;
    }
}

/// <summary>
/// Per-token error norms of two SAEs on the same tokens (dark-matter paper: larger SAEs mostly fail on the same tokens, and
/// the nonlinear error changes little with width): Pearson correlations of ‖e‖ and of ‖e − W*x‖ across tokens, and the means.
/// </summary>
/// <param name="NormCorrelation">corr_t(‖e_A,t‖, ‖e_B,t‖).</param>
/// <param name="NonlinearNormCorrelation">corr_t(‖n_A,t‖, ‖n_B,t‖), n = e − W*x with each SAE's own all-token W*.</param>
/// <param name="MeanNormA">mean_t ‖e_A,t‖.</param>
/// <param name="MeanNormB">mean_t ‖e_B,t‖.</param>
/// <param name="MeanNonlinearNormA">mean_t ‖n_A,t‖.</param>
/// <param name="MeanNonlinearNormB">mean_t ‖n_B,t‖.</param>
public sealed record ErrorNormComparison(double NormCorrelation, double NonlinearNormCorrelation, double MeanNormA, double MeanNormB,
    double MeanNonlinearNormA, double MeanNonlinearNormB)
{
    /// <summary>Compares <paramref name="a"/> and <paramref name="b"/> (same d) on x [T, d].</summary>
    public static ErrorNormComparison Measure(SparseAutoencoder a, SparseAutoencoder b, float[] x)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        int d = a.Config.InputDim;
        if (b.Config.InputDim != d) throw new ArgumentException($"The SAEs have d = {d} and {b.Config.InputDim}.");
        var (ea, eb) = (DarkMatterReport.Errors(a, x), DarkMatterReport.Errors(b, x));
        var all = Enumerable.Range(0, x.Length / d).ToArray();
        var na = DarkMatterReport.Nonlinear(x, ea, d, DarkMatterReport.FitVector(x, ea, d, all));
        var nb = DarkMatterReport.Nonlinear(x, eb, d, DarkMatterReport.FitVector(x, eb, d, all));
        var (ra, rb, qa, qb) = (Norms(ea, d), Norms(eb, d), Norms(na, d), Norms(nb, d));
        return new ErrorNormComparison(Pearson(ra, rb), Pearson(qa, qb), ra.Average(), rb.Average(), qa.Average(), qb.Average());
    }

    private static double[] Norms(float[] e, int d) =>
        [.. Enumerable.Range(0, e.Length / d).Select(r => Math.Sqrt(e.AsSpan(r * d, d).ToArray().Sum(v => (double)v * v)))];

    /// <summary>Pearson correlation of two equal-length samples (0 when either is constant).</summary>
    internal static double Pearson(double[] u, double[] v)
    {
        double mu = u.Average(), mv = v.Average(), suv = 0, suu = 0, svv = 0;
        for (int i = 0; i < u.Length; i++) { suv += (u[i] - mu) * (v[i] - mv); suu += (u[i] - mu) * (u[i] - mu); svv += (v[i] - mv) * (v[i] - mv); }
        return suu > 0 && svv > 0 ? suv / Math.Sqrt(suu * svv) : 0;
    }
}
