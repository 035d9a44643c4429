namespace SaeGpu.Evaluation;

/// <summary>Host-side reductions used for metrics (float64 accumulation). Rows are [B, d], row-major.</summary>
internal static class Metrics
{
    /// <summary>Per-column mean x̄ [d] of rows x [B, d].</summary>
    public static float[] ColumnMean(ReadOnlySpan<float> x, int d)
    {
        CheckRows(x, d);
        int b = x.Length / d;
        var acc = new double[d];
        for (int r = 0; r < b; r++)
            for (int i = 0; i < d; i++) acc[i] += x[r * d + i];
        return [.. acc.Select(s => (float)(s / b))];
    }

    /// <summary>Σ_b ‖x_b − x̄‖², the denominator of FVU.</summary>
    public static double TotalVariance(ReadOnlySpan<float> x, int d)
    {
        var mean = ColumnMean(x, d);
        double s = 0;
        for (int o = 0; o < x.Length; o += d)
            for (int i = 0; i < d; i++) { double c = x[o + i] - mean[i]; s += c * c; }
        return s;
    }

    /// <summary>Fraction of variance unexplained: Σ‖x − x̂‖² / Σ‖x − x̄‖² over rows [B, d].</summary>
    public static double Fvu(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, int d)
    {
        if (xhat.Length != x.Length) throw new ArgumentException($"xhat has {xhat.Length} values; x has {x.Length}.", nameof(xhat));
        double err = 0;
        for (int e = 0; e < x.Length; e++) { double c = (double)x[e] - xhat[e]; err += c * c; }
        return err / TotalVariance(x, d);
    }

    private static void CheckRows(ReadOnlySpan<float> x, int d)
    {
        if (d < 1 || x.Length == 0 || x.Length % d != 0)
            throw new ArgumentException($"Rows have {x.Length} values, not a positive multiple of d = {d}.");
    }
}
