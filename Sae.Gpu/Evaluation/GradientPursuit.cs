using SaeGpu.Kernels;

namespace SaeGpu.Evaluation;

/// <summary>
/// Inference-time gradient pursuit (Blumensath &amp; Davies 2008; used by the dark-matter paper in place of the SAE encoder):
/// per token, r = x − b_dec; k times: c = W_dec·r, add j* = argmax |c_j| to the support S, step along the gradient on S,
/// g = c_S, v = Σ_{j∈S} g_j d_j, α = ‖g‖²/‖v‖² (exact line search), a_S += α g, r −= α v. At most k latents per token.
/// Host code, tokens in parallel; the paper's step-size and L0-matching details were not available, so these are ours.
/// </summary>
internal static class GradientPursuit
{
    /// <summary>x̂ [T, d] = a·W_dec + b_dec from gradient pursuit with at most <paramref name="k"/> latents per token of x [T, d].</summary>
    public static float[] Reconstruct(ReadOnlySpan<float> wDec, ReadOnlySpan<float> bDec, ReadOnlySpan<float> x, int k)
    {
        int d = bDec.Length;
        if (d == 0 || wDec.Length % d != 0 || x.Length % d != 0 || k < 1)
            throw new ArgumentException($"Gradient pursuit needs W_dec [F, d], b_dec [d], x [T, d] with d = {d} ≥ 1 and k ≥ 1 (got {wDec.Length}, {x.Length}, k = {k}).");
        var (w, b, xs) = (wDec.ToArray(), bDec.ToArray(), x.ToArray());
        var xhat = new float[x.Length];
        Parallel.For(0, x.Length / d, t => Token(w, b, xs.AsSpan(t * d, d), k, xhat.AsSpan(t * d, d)));
        return xhat;
    }

    private static void Token(float[] w, float[] b, ReadOnlySpan<float> x, int k, Span<float> xhat)
    {
        int d = b.Length, f = w.Length / d;
        var r = new float[d];
        for (int i = 0; i < d; i++) r[i] = x[i] - b[i];
        var c = new float[f];
        var support = new List<int>(k);
        var v = new float[d];
        for (int step = 0; step < k; step++)
        {
            for (int j = 0; j < f; j++) c[j] = Simd.Dot(r, w.AsSpan(j * d, d));
            int best = MatchingPursuit.ArgMaxAbs(c);
            if (best < 0) break;
            if (!support.Contains(best)) support.Add(best);
            Array.Clear(v);
            double gg = 0;
            foreach (int j in support) { Simd.Axpy(c[j], w.AsSpan(j * d, d), v); gg += (double)c[j] * c[j]; }
            double vv = Simd.Dot(v, v);
            if (!(vv > 0)) break;
            Simd.Axpy((float)(-gg / vv), v, r);
        }
        for (int i = 0; i < d; i++) xhat[i] = x[i] - r[i];
    }
}
