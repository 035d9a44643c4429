using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>Settings of <see cref="FirstLetterAbsorption.Measure"/>; the thresholds are SAEBench's (its absorption eval's defaults).</summary>
/// <param name="FitFraction">Share of the distinct words (all their occurrences) used to fit the probes and choose the main latents; the rest are tested.</param>
/// <param name="Seed">Seed of the split of the words.</param>
/// <param name="MinProbeF1">A letter is scored only when its probe reaches this F1 on the test words (SAEBench: 0.6).</param>
/// <param name="MinTestTokens">A letter is scored only when its probe finds at least this many test tokens (SAEBench: 20).</param>
/// <param name="MinMainF1">
/// A letter is scored only when its main latents reach this F1 for it on the test tokens (ours: an SAE without a latent for
/// the letter has nothing whose silence could be absorption, as an unmatched parent in <see cref="AbsorptionReport"/>).
/// </param>
/// <param name="F1Jump">Main latents are added while the F1 of their union rises by at least this (SAEBench's k-sparse probing: 0.03).</param>
/// <param name="MaxMainLatents">At most this many main latents per letter (SAEBench: 10).</param>
/// <param name="FullAbsorptionCosine">Full absorption needs the top projecting latent's decoder at cos ≥ this with the probe (SAEBench: 0.025).</param>
/// <param name="FractionCosine">Absorbing latents of the absorption fraction need cos ≥ this with the probe (SAEBench: 0.1).</param>
/// <param name="ProjectionShare">The absorbing latents must supply at least this share of the token's probe projection (SAEBench: 0.4).</param>
/// <param name="MaxAbsorbers">At most this many latents absorb together in the absorption fraction (SAEBench: 3).</param>
public sealed record FirstLetterOptions(double FitFraction = 0.5, int Seed = 0, double MinProbeF1 = 0.6, int MinTestTokens = 20, double MinMainF1 = 0.3, double F1Jump = 0.03,
    int MaxMainLatents = 10, double FullAbsorptionCosine = 0.025, double FractionCosine = 0.1, double ProjectionShare = 0.4, int MaxAbsorbers = 3);

/// <summary>The first-letter absorption of one letter.</summary>
/// <param name="Letter">The letter, a–z.</param>
/// <param name="TestTokens">Test tokens of words starting with the letter.</param>
/// <param name="ProbeF1">F1 of the letter's linear probe on the test tokens.</param>
/// <param name="ProbePositives">Test tokens of the letter that the probe recognizes: the tokens scored below.</param>
/// <param name="MainLatents">The SAE latents chosen on the fit tokens to stand for the letter.</param>
/// <param name="MainF1">F1 of "a main latent fires" for the letter on the test tokens.</param>
/// <param name="MainMiss">Share of the scored tokens on which no main latent fires.</param>
/// <param name="FullAbsorption">Share of the scored tokens with full absorption (no main latent fires, one other latent carries the probe direction).</param>
/// <param name="AbsorptionFraction">Mean absorption fraction of the scored tokens (partial absorption by up to MaxAbsorbers latents counts too).</param>
/// <param name="Scored">True when the letter passed the probe-F1, token-count and main-latent-F1 bars and counts in the means.</param>
public sealed record LetterAbsorption(char Letter, int TestTokens, double ProbeF1, int ProbePositives, IReadOnlyList<int> MainLatents, double MainF1,
    double MainMiss, double FullAbsorption, double AbsorptionFraction, bool Scored);

/// <summary>
/// First-letter feature absorption on real tokens (the idea of SAEBench's absorption eval, Chanin et al. "A is for
/// Absorption"): does the SAE have latents for "starts with L", and when the model represents the letter, do those latents
/// fire, or does another latent absorb the direction? Rows are activations x [T, d] with the token string of each row.
/// Only tokens of two or more lower-case letters a–z count (word pieces "##…", digits and punctuation do not); the distinct
/// words are split (seeded) so that no word is in both halves. On the fit half: one least-squares linear probe per letter
/// (one-vs-rest, with intercept; SAEBench trains logistic regression: ours) thresholded halfway between the scores around
/// its best F1, and the main
/// latents — latents ranked by the F1 of their firing for the letter, added while the union's F1 rises by
/// <see cref="FirstLetterOptions.F1Jump"/> (SAEBench's k-sparse probes: ours). On the test half, among tokens of the letter
/// that the probe recognizes, with p the unit probe direction, the projection P = (x − b_dec)·p and each active latent's
/// share a_j·cos(d_j, p): full absorption when no main latent fires, P &gt; 0, and the top-sharing latent has cos ≥ 0.025
/// and supplies ≥ 40 % of P; the absorption fraction as in SAEBench (absorbers: up to 3 non-main latents with cos ≥ 0.1).
/// SAEBench reads a word at the end of an in-context spelling prompt; here the tokens are read where they stand in running
/// text (ours), so frequent words weigh more.
/// </summary>
/// <param name="Tokens">Rows analysed.</param>
/// <param name="WordTokens">Rows whose token is a word of two or more letters.</param>
/// <param name="Letters">Each letter's result, a–z (letters without test words are left out).</param>
/// <param name="MeanFullAbsorption">Mean of <see cref="LetterAbsorption.FullAbsorption"/> over the scored letters (NaN when none is scored).</param>
/// <param name="MeanAbsorptionFraction">Mean of <see cref="LetterAbsorption.AbsorptionFraction"/> over the scored letters.</param>
/// <param name="MeanMainMiss">Mean of <see cref="LetterAbsorption.MainMiss"/> over the scored letters.</param>
public sealed record FirstLetterAbsorption(int Tokens, int WordTokens, IReadOnlyList<LetterAbsorption> Letters, double MeanFullAbsorption,
    double MeanAbsorptionFraction, double MeanMainMiss)
{
    /// <summary>
    /// Measures <paramref name="sae"/> on x [T, d] whose row t is token <paramref name="tokens"/>[t]; throws
    /// <see cref="ArgumentException"/> when the shapes disagree or no row is a word.
    /// </summary>
    public static FirstLetterAbsorption Measure(SparseAutoencoder sae, ReadOnlySpan<float> x, IReadOnlyList<string> tokens, FirstLetterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentNullException.ThrowIfNull(tokens);
        var o = options ?? new FirstLetterOptions();
        if (!(o.FitFraction is > 0 and < 1)) throw new ArgumentException($"FirstLetterOptions.FitFraction must be in (0, 1), got {o.FitFraction}.");
        int d = sae.Config.InputDim;
        if (x.Length != (long)tokens.Count * d) throw new ArgumentException($"x has {x.Length} values; {tokens.Count} tokens of d = {d} need {(long)tokens.Count * d}.");
        var words = Enumerable.Range(0, tokens.Count).Where(t => IsWord(tokens[t])).ToArray();
        if (words.Length == 0) throw new ArgumentException("No token is a word of two or more letters a–z; the first-letter metric needs word tokens.");
        var rows = new Rows(sae, x, words, tokens);
        var fit = rows.SplitByWord(o.FitFraction, o.Seed);
        var probe = LetterProbe.Fit(rows, fit);
        var letters = new List<LetterAbsorption>();
        for (int c = 0; c < 26; c++)
            if (LetterResult(rows, fit, probe, c, o) is { } r) letters.Add(r);
        var scored = letters.Where(l => l.Scored).ToArray();
        double Mean(Func<LetterAbsorption, double> f) => scored.Length == 0 ? double.NaN : scored.Average(f);
        return new FirstLetterAbsorption(tokens.Count, words.Length, letters, Mean(l => l.FullAbsorption), Mean(l => l.AbsorptionFraction), Mean(l => l.MainMiss));
    }

    /// <summary>True for a token of two or more lower-case letters a–z.</summary>
    public static bool IsWord(string token) => token.Length >= 2 && token.All(ch => ch is >= 'a' and <= 'z');

    private static LetterAbsorption? LetterResult(Rows rows, bool[] fit, LetterProbe probe, int c, FirstLetterOptions o)
    {
        char letter = (char)('a' + c);
        var test = Enumerable.Range(0, rows.Count).Where(i => !fit[i]).ToArray();
        int testTokens = test.Count(i => rows.Letter[i] == c);
        if (testTokens == 0) return null;
        double probeF1 = F1(test, i => rows.Letter[i] == c, i => probe.Says(rows, i, c));
        var main = MainLatents(rows, fit, c, o);
        var mainSet = main.ToHashSet();
        double mainF1 = F1(test, i => rows.Letter[i] == c, i => rows.Fires(i, mainSet));
        var scoredRows = test.Where(i => rows.Letter[i] == c && probe.Says(rows, i, c)).ToArray();
        var cos = rows.DecoderCosines(probe.Direction(c));
        double miss = 0, full = 0, fraction = 0;
        foreach (int i in scoredRows)
        {
            var (m, f, a) = Absorption(rows, i, probe.Direction(c), cos, mainSet, o);
            (miss, full, fraction) = (miss + m, full + f, fraction + a);
        }
        int n = Math.Max(1, scoredRows.Length);
        bool scored = probeF1 >= o.MinProbeF1 && scoredRows.Length >= o.MinTestTokens && mainF1 >= o.MinMainF1;
        return new LetterAbsorption(letter, testTokens, probeF1, scoredRows.Length, main, mainF1, miss / n, full / n, fraction / n, scored);
    }

    // Latents ranked by the F1 of their firing for the letter on the fit rows, added while the union's F1 rises by F1Jump.
    private static int[] MainLatents(Rows rows, bool[] fit, int c, FirstLetterOptions o)
    {
        var firing = rows.FitRowsByLatent(fit);
        int positives = Enumerable.Range(0, rows.Count).Count(i => fit[i] && rows.Letter[i] == c);
        double F1Of(int tp, int predicted) => positives + predicted == 0 ? 0 : 2.0 * tp / (positives + predicted);
        var ranked = firing.Keys.OrderByDescending(j => F1Of(firing[j].Count(i => rows.Letter[i] == c), firing[j].Count)).ThenBy(j => j).ToArray();
        var covered = new bool[rows.Count];
        var main = new List<int>();
        int tpAll = 0, predAll = 0;
        foreach (int j in ranked.Take(4 * o.MaxMainLatents))
        {
            var added = firing[j].Where(i => !covered[i]).ToArray();
            int tp = tpAll + added.Count(i => rows.Letter[i] == c), pred = predAll + added.Length;
            if (main.Count > 0 && F1Of(tp, pred) < F1Of(tpAll, predAll) + o.F1Jump) break;
            main.Add(j);
            foreach (int i in added) covered[i] = true;
            (tpAll, predAll) = (tp, pred);
            if (main.Count == o.MaxMainLatents) break;
        }
        return [.. main];
    }

    // (main latents silent, full absorption, absorption fraction) of one token, as in SAEBench's absorption calculator.
    private static (double Miss, double Full, double Fraction) Absorption(Rows rows, int i, double[] p, double[] cos, HashSet<int> main, FirstLetterOptions o)
    {
        double total = rows.Projection(i, p), mainShare = 0;
        bool mainFires = false;
        var others = new List<(double Share, double Cos)>();
        foreach (var (j, a) in rows.Codes(i))
        {
            double share = a * cos[j];
            if (main.Contains(j)) { mainShare += share; mainFires |= a != 0; }
            else others.Add((share, cos[j]));
        }
        double miss = mainFires ? 0 : 1;
        var top = others.OrderByDescending(s => s.Share).FirstOrDefault();
        double full = !mainFires && total > 0 && others.Count > 0 && top.Cos >= o.FullAbsorptionCosine && top.Share >= o.ProjectionShare * total ? 1 : 0;
        double absorbers = others.Where(s => s.Cos >= o.FractionCosine && s.Share > 0).Select(s => s.Share).OrderDescending().Take(o.MaxAbsorbers).Sum();
        double fraction = mainShare >= total || absorbers < o.ProjectionShare * total ? 0
            : mainShare <= 0 ? 1
            : Math.Clamp(Math.Min(absorbers, total - mainShare) / (Math.Min(absorbers, total - mainShare) + mainShare), 0, 1);
        return (miss, full, fraction);
    }

    private static double F1(int[] rows, Func<int, bool> actual, Func<int, bool> predicted)
    {
        int tp = 0, pos = 0, pred = 0;
        foreach (int i in rows)
        {
            bool a = actual(i), p = predicted(i);
            if (a) pos++;
            if (p) pred++;
            if (a && p) tp++;
        }
        return pos + pred == 0 ? 0 : 2.0 * tp / (pos + pred);
    }

    // The word rows: activations, letters, words and the SAE's codes.
    private sealed class Rows
    {
        private readonly float[] x, bDec, wDec;
        private readonly string[] words;
        private readonly SparseBatch[] codes;
        private const int Chunk = 4096;

        public Rows(SparseAutoencoder sae, ReadOnlySpan<float> all, int[] wordRows, IReadOnlyList<string> tokens)
        {
            D = sae.Config.InputDim;
            Count = wordRows.Length;
            x = new float[(long)Count * D];
            for (int i = 0; i < Count; i++) all.Slice(wordRows[i] * D, D).CopyTo(x.AsSpan(i * D, D));
            words = [.. wordRows.Select(t => tokens[t])];
            Letter = [.. words.Select(w => w[0] - 'a')];
            codes = [.. Enumerable.Range(0, (Count + Chunk - 1) / Chunk).Select(c => sae.Encode(x.AsSpan(c * Chunk * D, Math.Min(Chunk, Count - c * Chunk) * D)))];
            (bDec, wDec) = (sae.GetParameter("b_dec"), sae.GetParameter("W_dec"));
        }

        public int D { get; }

        public int Count { get; }

        public int[] Letter { get; }

        public ReadOnlySpan<float> X(int i) => x.AsSpan(i * D, D);

        public ReadOnlySpan<int> Active(int i) => codes[i / Chunk].RowIndices(i % Chunk);

        public IEnumerable<(int Latent, float Value)> Codes(int i)
        {
            var batch = codes[i / Chunk];
            var (idx, val) = (batch.RowIndices(i % Chunk).ToArray(), batch.RowValues(i % Chunk).ToArray());
            return idx.Zip(val);
        }

        private Dictionary<int, List<int>>? fitRowsByLatent;

        // The fit rows on which each latent fires (computed once).
        public Dictionary<int, List<int>> FitRowsByLatent(bool[] fit)
        {
            if (fitRowsByLatent is not null) return fitRowsByLatent;
            fitRowsByLatent = [];
            for (int i = 0; i < Count; i++)
                if (fit[i])
                    foreach (int j in Active(i))
                    {
                        if (!fitRowsByLatent.TryGetValue(j, out var list)) fitRowsByLatent[j] = list = [];
                        list.Add(i);
                    }
            return fitRowsByLatent;
        }

        public bool Fires(int i, HashSet<int> latents)
        {
            foreach (int j in Active(i)) if (latents.Contains(j)) return true;
            return false;
        }

        // (x − b_dec)·p.
        public double Projection(int i, double[] p)
        {
            var row = X(i);
            double s = 0;
            for (int a = 0; a < D; a++) s += (row[a] - bDec[a]) * p[a];
            return s;
        }

        // cos(d_j, p) for every decoder row (p is a unit vector).
        public double[] DecoderCosines(double[] p)
        {
            var cos = new double[wDec.Length / D];
            for (int j = 0; j < cos.Length; j++)
            {
                double dot = 0, nn = 0;
                for (int a = 0; a < D; a++) { dot += wDec[j * D + a] * p[a]; nn += (double)wDec[j * D + a] * wDec[j * D + a]; }
                cos[j] = nn > 0 ? dot / Math.Sqrt(nn) : 0;
            }
            return cos;
        }

        // True for the rows of a seeded FitFraction of the distinct words.
        public bool[] SplitByWord(double fitFraction, int seed)
        {
            var distinct = words.Distinct().Order(StringComparer.Ordinal).ToArray();
            new Random(seed).Shuffle(distinct);
            var fitWords = distinct.Take((int)Math.Round(distinct.Length * fitFraction)).ToHashSet();
            return [.. words.Select(fitWords.Contains)];
        }
    }

    // One least-squares probe per letter (one-vs-rest, intercept), thresholded at its best F1 on the fit rows.
    private sealed class LetterProbe(double[] weights, double[] thresholds, int d)
    {
        public static LetterProbe Fit(Rows rows, bool[] fit)
        {
            int d = rows.D;
            var ls = new LeastSquares(d + 1, 26);
            var (xi, yi) = (new double[d + 1], new double[26]);
            for (int i = 0; i < rows.Count; i++)
            {
                if (!fit[i]) continue;
                var row = rows.X(i);
                for (int a = 0; a < d; a++) xi[a] = row[a];
                xi[d] = 1;
                Array.Clear(yi);
                yi[rows.Letter[i]] = 1;
                ls.Add(xi, yi);
            }
            var w = ls.Solve();
            var thresholds = new double[26];
            var probe = new LetterProbe(w, thresholds, d);
            var fitRows = Enumerable.Range(0, rows.Count).Where(i => fit[i]).ToArray();
            for (int c = 0; c < 26; c++) thresholds[c] = probe.BestThreshold(rows, fitRows, c);
            return probe;
        }

        public bool Says(Rows rows, int i, int c) => Score(rows, i, c) >= thresholds[c];

        // The unit direction of letter c's weights (without the intercept).
        public double[] Direction(int c)
        {
            var p = Enumerable.Range(0, d).Select(a => weights[a * 26 + c]).ToArray();
            double n = Math.Sqrt(p.Sum(v => v * v));
            return n > 0 ? [.. p.Select(v => v / n)] : p;
        }

        private double Score(Rows rows, int i, int c)
        {
            var row = rows.X(i);
            double s = weights[d * 26 + c];
            for (int a = 0; a < d; a++) s += row[a] * weights[a * 26 + c];
            return s;
        }

        // The score threshold with the best F1 on the fit rows, halfway to the next lower score (+∞ when the letter has none).
        private double BestThreshold(Rows rows, int[] fitRows, int c)
        {
            var scored = fitRows.Select(i => (Score: Score(rows, i, c), Positive: rows.Letter[i] == c)).OrderByDescending(s => s.Score).ToArray();
            int positives = scored.Count(s => s.Positive), tp = 0;
            double best = -1, threshold = double.PositiveInfinity;
            for (int n = 0; n < scored.Length; n++)
            {
                if (scored[n].Positive) tp++;
                double f1 = positives == 0 ? 0 : 2.0 * tp / (positives + n + 1);
                if (f1 > best && (n + 1 == scored.Length || scored[n + 1].Score < scored[n].Score))
                    (best, threshold) = (f1, n + 1 == scored.Length ? scored[n].Score : (scored[n].Score + scored[n + 1].Score) / 2);
            }
            return threshold;
        }
    }
}
