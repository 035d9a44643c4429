namespace SaeGpu.Evaluation;

/// <summary>
/// Ordinary least squares in float64 by the normal equations: accumulate XᵀX [p, p] and XᵀY [p, q] row by row, then solve
/// (XᵀX + λI) W = XᵀY by Cholesky, with λ = 1e-10·trace(XᵀX)/p for numerical safety (ours; the dark-matter code uses
/// lstsq with rcond 1e-9). No intercept: append a constant column to X for one.
/// </summary>
internal sealed class LeastSquares
{
    private readonly double[] xtx, xty;

    /// <summary>An empty accumulator for p regressors and q targets.</summary>
    public LeastSquares(int regressors, int targets)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(regressors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targets);
        (P, Q) = (regressors, targets);
        (xtx, xty) = (new double[regressors * regressors], new double[regressors * targets]);
    }

    /// <summary>p, the number of regressors.</summary>
    public int P { get; }

    /// <summary>q, the number of targets.</summary>
    public int Q { get; }

    /// <summary>Rows accumulated so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Adds one observation: regressors x [p], targets y [q].</summary>
    public void Add(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != P || y.Length != Q) throw new ArgumentException($"Observation has {x.Length} regressors and {y.Length} targets; expected {P} and {Q}.");
        for (int a = 0; a < P; a++)
        {
            double xa = x[a];
            if (xa == 0) continue;
            for (int b = a; b < P; b++) xtx[a * P + b] += xa * x[b];
            for (int c = 0; c < Q; c++) xty[a * Q + c] += xa * y[c];
        }
        Rows++;
    }

    /// <summary>The coefficients W [p, q] minimizing Σ‖y − Wᵀx‖² over the accumulated rows.</summary>
    public double[] Solve()
    {
        var l = new double[P * P];
        double trace = 0;
        for (int a = 0; a < P; a++) trace += xtx[a * P + a];
        double ridge = 1e-10 * Math.Max(trace, 1e-300) / P;
        for (int a = 0; a < P; a++)
            for (int b = 0; b <= a; b++)
            {
                double s = xtx[b * P + a] + (a == b ? ridge : 0);
                for (int c = 0; c < b; c++) s -= l[a * P + c] * l[b * P + c];
                l[a * P + b] = a == b ? Math.Sqrt(Math.Max(s, 1e-300)) : s / l[b * P + b];
            }
        var w = new double[P * Q];
        var z = new double[P];
        for (int c = 0; c < Q; c++)
        {
            for (int a = 0; a < P; a++)
            {
                double s = xty[a * Q + c];
                for (int b = 0; b < a; b++) s -= l[a * P + b] * z[b];
                z[a] = s / l[a * P + a];
            }
            for (int a = P - 1; a >= 0; a--)
            {
                double s = z[a];
                for (int b = a + 1; b < P; b++) s -= l[b * P + a] * w[b * Q + c];
                w[a * Q + c] = s / l[a * P + a];
            }
        }
        return w;
    }
}
