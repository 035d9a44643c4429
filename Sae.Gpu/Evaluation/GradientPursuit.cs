using SaeGpu.Kernels;

namespace SaeGpu.Evaluation;

/// <summary>
/// Inference-time gradient pursuit (Blumensath &amp; Davies 2008; used by the dark-matter paper in place of the SAE encoder):
/// per token, r = x − b_dec, a = 0; k times: c = W_dec·r, add j* to the support S, step along the gradient on S,
/// g = c_S, v = Σ_{j∈S} g_j d_j, α = ‖g‖²/‖v‖² (exact line search), a_S += α g, r −= α v. Signed: j* = argmax |c_j|.
/// Non-negative (the code space of every SAE but AbsTopK): j* = argmax c_j over c_j &gt; 0 (none: stop), g_j = 0 where
/// a_j = 0 and g_j &lt; 0, and α is cut so that no coefficient crosses 0 (projected gradient; ours). At most k latents per
/// token. Host code, tokens in parallel; the paper's step-size and L0-matching details were not available, so these are ours.
/// </summary>
internal static class GradientPursuit
{
    /// <summary>x̂ [T, d] = a·W_dec + b_dec from gradient pursuit with at most <paramref name="k"/> latents per token of x [T, d].</summary>
    public static float[] Reconstruct(ReadOnlySpan<float> wDec, ReadOnlySpan<float> bDec, ReadOnlySpan<float> x, int k, bool nonNegative) =>
        Run(wDec, bDec, x, k, nonNegative).Reconstruction;

    /// <summary>The codes of every token (latent, coefficient), in the order the latents joined, and x̂ [T, d].</summary>
    public static (List<(int Latent, float Value)>[] Codes, float[] Reconstruction) Run(ReadOnlySpan<float> wDec, ReadOnlySpan<float> bDec, ReadOnlySpan<float> x,
        int k, bool nonNegative)
    {
        int d = bDec.Length;
        if (d == 0 || wDec.Length % d != 0 || x.Length % d != 0 || k < 1)
            throw new ArgumentException($"Gradient pursuit needs W_dec [F, d], b_dec [d], x [T, d] with d = {d} ≥ 1 and k ≥ 1 (got {wDec.Length}, {x.Length}, k = {k}).");
        var (w, b, xs) = (wDec.ToArray(), bDec.ToArray(), x.ToArray());
        var xhat = new float[x.Length];
        var codes = new List<(int, float)>[x.Length / d];
        Parallel.For(0, codes.Length, t => codes[t] = Token(w, b, xs.AsSpan(t * d, d), k, nonNegative, xhat.AsSpan(t * d, d)));
        return (codes, xhat);
    }

    private static List<(int, float)> Token(float[] w, float[] b, ReadOnlySpan<float> x, int k, bool nonNegative, Span<float> xhat)
    {
        int d = b.Length, f = w.Length / d;
        var r = new float[d];
        for (int i = 0; i < d; i++) r[i] = x[i] - b[i];
        var c = new float[f];
        var support = new List<int>(k);
        var (a, g) = (new List<float>(k), new List<float>(k));
        var v = new float[d];
        for (int step = 0; step < k; step++)
        {
            for (int j = 0; j < f; j++) c[j] = Simd.Dot(r, w.AsSpan(j * d, d));
            int best = nonNegative ? ArgMaxPositive(c) : MatchingPursuit.ArgMaxAbs(c);
            if (best < 0) break;
            if (!support.Contains(best)) { support.Add(best); a.Add(0); }
            Array.Clear(v);
            g.Clear();
            double gg = 0;
            for (int s = 0; s < support.Count; s++)
            {
                float gs = nonNegative && a[s] <= 0 && c[support[s]] < 0 ? 0 : c[support[s]];
                g.Add(gs);
                Simd.Axpy(gs, w.AsSpan(support[s] * d, d), v);
                gg += (double)gs * gs;
            }
            double vv = Simd.Dot(v, v);
            if (!(vv > 0)) break;
            double alpha = gg / vv;
            if (nonNegative)
                for (int s = 0; s < support.Count; s++) if (g[s] < 0) alpha = Math.Min(alpha, a[s] / -(double)g[s]);
            for (int s = 0; s < support.Count; s++) a[s] = nonNegative ? Math.Max(0, a[s] + (float)(alpha * g[s])) : a[s] + (float)(alpha * g[s]);
            Simd.Axpy((float)-alpha, v, r);
        }
        for (int i = 0; i < d; i++) xhat[i] = x[i] - r[i];
        return [.. support.Zip(a)];
    }

    // Index of the largest positive entry (the lowest such index on ties), or −1 when none is positive.
    private static int ArgMaxPositive(ReadOnlySpan<float> c)
    {
        int best = -1;
        for (int j = 0; j < c.Length; j++) if (c[j] > 0 && (best < 0 || c[j] > c[best])) best = j;
        return best;
    }
}
