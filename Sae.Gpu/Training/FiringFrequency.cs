namespace SaeGpu.Training;

/// <summary>
/// EMA (decay 0.99 per step) of each latent's firing frequency per token, and the aux_zipf rule built on it (ours; see
/// <see cref="AuxLossKind.AuxZipf"/>): rank latents by frequency, fit log f_r = log C − s·log r by least squares over the
/// top half of the ranks with f &gt; 0, and call a latent under-used when f_r &lt; ¼·C·r^−s.
/// </summary>
internal sealed class FiringFrequency(int latents) : IResumable
{
    private const double Decay = 0.99, UnderuseFraction = 0.25;
    private readonly double[] ema = new double[latents];

    /// <summary>EMA frequency per latent [F].</summary>
    public IReadOnlyList<double> Values => ema;

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer) => writer.WriteArray<double>(ema);

    /// <inheritdoc />
    public void ReadState(BinaryReader reader) => reader.ReadArray<double>(ema, "Firing-frequency EMA");

    /// <summary>Folds in one batch's fire counts [F] over <paramref name="rows"/> rows.</summary>
    public void Update(ReadOnlySpan<int> counts, int rows)
    {
        for (int j = 0; j < ema.Length; j++) ema[j] = Decay * ema[j] + (1 - Decay) * counts[j] / rows;
    }

    /// <summary>Writes into <paramref name="mask"/> [F] 1 for latents that are dead (per <paramref name="dead"/>) or under-used relative to the Zipf fit.</summary>
    public void FillUnderusedMask(DeadLatentTracker dead, Span<int> mask)
    {
        dead.FillDeadMask(mask);
        var order = Enumerable.Range(0, ema.Length).OrderByDescending(j => ema[j]).ToArray();
        var (logC, s) = FitZipf(order);
        for (int r = 0; r < order.Length; r++)
            if (ema[order[r]] < UnderuseFraction * Math.Exp(logC - s * Math.Log(r + 1))) mask[order[r]] = 1;
    }

    private (double LogC, double S) FitZipf(int[] order)
    {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int n = 0;
        for (int r = 0; r < Math.Max(2, order.Length / 2) && r < order.Length; r++)
        {
            if (ema[order[r]] <= 0) break;
            double lx = Math.Log(r + 1), ly = Math.Log(ema[order[r]]);
            (sx, sy, sxx, sxy, n) = (sx + lx, sy + ly, sxx + lx * lx, sxy + lx * ly, n + 1);
        }
        if (n < 2) return (double.NegativeInfinity, 0);
        double slope = (n * sxy - sx * sy) / Math.Max(1e-12, n * sxx - sx * sx);
        return ((sy - slope * sx) / n, -slope);
    }
}
