namespace SaeGpu.Evaluation;

/// <summary>
/// Accumulates <see cref="SaeMetrics"/> over batches: each batch is encoded and decoded with the SAE's inference rule; the
/// squared errors, per-latent firing counts and (Matryoshka) each prefix's squared error are summed in float64, and the
/// variance Σ‖x − x̄‖² about the mean of all rows is combined batch by batch (Chan et al.'s pairwise update of per-column
/// means and sums of squares), so the result does not depend on how the rows are split into batches.
/// </summary>
internal sealed class MetricsAccumulator(SparseAutoencoder sae)
{
    private readonly int d = sae.Config.InputDim;
    private readonly double[] mean = new double[sae.Config.InputDim], m2 = new double[sae.Config.InputDim], batchMean = new double[sae.Config.InputDim];
    private readonly long[] fired = new long[sae.Config.Latents];
    private readonly List<long> perToken = [];
    private readonly double[] prefixSse = new double[sae.Config.MatryoshkaWidths?.Count ?? 0];
    private float[] xhat = [];
    private double sse;
    private long tokens, entries;

    /// <summary>The codes of the last batch added.</summary>
    public SparseBatch LastCodes { get; } = new();

    /// <summary>Encodes, decodes and accumulates rows x [B, d].</summary>
    public void Add(ReadOnlySpan<float> x)
    {
        sae.Encode(x, LastCodes);
        if (xhat.Length != x.Length) xhat = new float[x.Length];
        sae.Decode(LastCodes, xhat);
        sse += SquaredError(x, xhat);
        foreach (int j in LastCodes.Indices) fired[j]++;
        for (int r = 0; r < LastCodes.Rows; r++)
        {
            int n = LastCodes.RowIndices(r).Length;
            while (perToken.Count <= n) perToken.Add(0);
            perToken[n]++;
        }
        entries += LastCodes.Count;
        AddPrefixErrors(x);
        AddVariance(x);
    }

    /// <summary>The metrics of every row added; throws when none was.</summary>
    public SaeMetrics Result()
    {
        if (tokens == 0) throw new InvalidOperationException("No rows were evaluated.");
        double variance = m2.Sum();
        var frequencies = fired.Select(c => (double)c / tokens).ToArray();
        return new SaeMetrics(tokens, sse / variance, sse / ((double)tokens * d), (double)entries / tokens,
            (double)fired.Count(c => c == 0) / fired.Length, FiringHistogram.Compute(frequencies),
            prefixSse.Length == 0 ? null : [.. prefixSse.Select(s => s / variance)], [.. perToken]);
    }

    private static double SquaredError(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++) { double e = (double)x[i] - y[i]; s += e * e; }
        return s;
    }

    // Each prefix decodes the entries with latent < m_i (rows are in latent order, so a prefix of each row).
    private void AddPrefixErrors(ReadOnlySpan<float> x)
    {
        var widths = sae.Config.MatryoshkaWidths;
        for (int w = 0; widths is not null && w < widths.Count; w++)
        {
            var offsets = new int[LastCodes.Rows + 1];
            var (idx, val) = (new List<int>(LastCodes.Count), new List<float>(LastCodes.Count));
            for (int r = 0; r < LastCodes.Rows; r++)
            {
                var ri = LastCodes.RowIndices(r);
                var rv = LastCodes.RowValues(r);
                for (int p = 0; p < ri.Length && ri[p] < widths[w]; p++) { idx.Add(ri[p]); val.Add(rv[p]); }
                offsets[r + 1] = idx.Count;
            }
            prefixSse[w] += SquaredError(x, sae.Decode(new SparseBatch(offsets, idx.ToArray(), val.ToArray())));
        }
    }

    // Chan et al.: merge the batch's per-column mean and Σ(x − mean)² into the running ones.
    private void AddVariance(ReadOnlySpan<float> x)
    {
        int b = x.Length / d;
        Array.Clear(batchMean);
        for (int r = 0; r < b; r++)
            for (int i = 0; i < d; i++) batchMean[i] += x[r * d + i];
        for (int i = 0; i < d; i++) batchMean[i] /= b;
        long n = tokens + b;
        for (int i = 0; i < d; i++)
        {
            double s = 0;
            for (int r = 0; r < b; r++) { double c = x[r * d + i] - batchMean[i]; s += c * c; }
            double delta = batchMean[i] - mean[i];
            m2[i] += s + delta * delta * tokens * b / n;
            mean[i] += delta * b / n;
        }
        tokens = n;
    }
}
