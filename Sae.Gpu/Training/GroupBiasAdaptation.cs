namespace SaeGpu.Training;

/// <summary>
/// Group bias adaptation (GBA, arXiv 2506.14002, as summarised in PAPERS §6): latents are split into K groups (latent j in
/// group j mod K) with target firing frequencies p_k geometric from the first group's down to first/ratio. b_enc receives
/// no gradient; every T steps, from the buffered batches: p̂_m = fraction of rows where latent m fired and
/// r_m = max(0, max pre_m), r̄_k = mean of the positive r_m in group k; then
/// <c>p̂_m &gt; p_k → b_m ← b_m − γ·r_m</c>, else <c>p̂_m &lt; ε → b_m ← min(b_m + γ·r̄_k, 0)</c>.
/// The paper also floors biases at −1, which presumes unit-scale inputs; SaeGpu does not normalize inputs and its encoder is
/// not tied, so the floor is dropped (ours). Group assignment and the matched-L0 default for the first target are ours too.
/// </summary>
public sealed class GroupBiasAdaptation : IResumable
{
    private readonly double[] target;
    private readonly long[] fired;
    private readonly float[] maxPre;
    private readonly TrainConfig config;
    private long rows;
    private int steps;

    /// <summary>State for <paramref name="latents"/> latents whose mean target L0 is <paramref name="targetL0"/> unless the config fixes the first target.</summary>
    public GroupBiasAdaptation(int latents, int targetL0, TrainConfig config)
    {
        this.config = config;
        int groups = Math.Min(config.GbaGroups, latents);
        var shape = Enumerable.Range(0, groups).Select(g => Math.Pow(config.GbaFrequencyRatio, -(double)g / Math.Max(1, groups - 1))).ToArray();
        // Mean of the targets over latents is (Σ_g shape_g · size_g) / F; scale so F · mean = target L0.
        double perLatent = Enumerable.Range(0, latents).Sum(j => shape[j % groups]);
        double high = config.GbaHighFrequency ?? Math.Min(1.0, targetL0 / perLatent);
        target = [.. Enumerable.Range(0, latents).Select(j => high * shape[j % groups])];
        fired = new long[latents];
        maxPre = new float[latents];
    }

    /// <summary>Target frequency of each latent [F].</summary>
    public IReadOnlyList<double> Targets => target;

    /// <summary>
    /// Buffers one batch (fire counts [F], column maxima [F], rows) and, every T steps, updates <paramref name="bEnc"/> [F]
    /// in place; returns true when it did.
    /// </summary>
    public bool Observe(ReadOnlySpan<int> counts, ReadOnlySpan<float> columnMax, int batchRows, Span<float> bEnc)
    {
        for (int j = 0; j < fired.Length; j++)
        {
            fired[j] += counts[j];
            maxPre[j] = Math.Max(maxPre[j], columnMax[j]);
        }
        rows += batchRows;
        if (++steps % config.GbaInterval != 0) return false;
        Update(bEnc);
        Array.Clear(fired);
        Array.Clear(maxPre);
        rows = 0;
        return true;
    }

    /// <summary>Writes the statistics gathered since the last bias update.</summary>
    public void WriteState(BinaryWriter writer)
    {
        writer.WriteArray<long>(fired);
        writer.WriteArray<float>(maxPre);
        writer.Write(rows);
        writer.Write(steps);
    }

    /// <summary>Restores the statistics gathered since the last bias update.</summary>
    public void ReadState(BinaryReader reader)
    {
        reader.ReadArray<long>(fired, "GBA firing counts");
        reader.ReadArray<float>(maxPre, "GBA maximum pre-activations");
        (rows, steps) = (reader.ReadInt64(), reader.ReadInt32());
    }

    private void Update(Span<float> bEnc)
    {
        int groups = Math.Min(config.GbaGroups, fired.Length);
        var groupMean = new double[groups];
        var groupCount = new int[groups];
        for (int j = 0; j < fired.Length; j++)
            if (maxPre[j] > 0) { groupMean[j % groups] += maxPre[j]; groupCount[j % groups]++; }
        for (int g = 0; g < groups; g++) groupMean[g] = groupCount[g] > 0 ? groupMean[g] / groupCount[g] : 0;
        for (int j = 0; j < fired.Length; j++)
        {
            double freq = (double)fired[j] / rows;
            if (freq > target[j]) bEnc[j] = (float)(bEnc[j] - config.GbaGamma * maxPre[j]);
            else if (freq < config.GbaEpsilon) bEnc[j] = (float)Math.Min(bEnc[j] + config.GbaGamma * groupMean[j % groups], 0);
        }
    }
}
