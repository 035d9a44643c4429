using SaeGpu.Compute;

namespace SaeGpu.Training;

/// <summary>
/// The Matryoshka reconstruction term (Bussmann et al., arXiv 2503.17547, §3.1): with nested prefixes m_1 &lt; … &lt; m_n = F,
/// <c>L = Σ_i w_i · ‖x̂_i − x‖² / (B·d)</c>, <c>x̂_i = a[:, 0:m_i]·W_dec[0:m_i] + b_dec</c>, gradients flowing through every
/// prefix (no stop-gradient). One fused <see cref="Backend.PrefixLoss"/> pass gives the prefix errors, ∂L/∂x̂ (for b_dec) and
/// ∂L/∂a; the decoder-row gradient is <c>Backend.AggregateByLatent</c> over the codes split into latent groups.
/// Prefixes are the SAE's fixed widths, or resampled every step (<see cref="TrainConfig.RandomPrefixes"/>). Owns scratch
/// tensors: dispose it.
/// </summary>
internal sealed class MatryoshkaLoss : IDisposable, IResumable
{
    private readonly Backend be;
    private readonly int b, d, f, n, minPrefix;
    private readonly bool random;
    private readonly ResumableRandom rng;
    private readonly int[] endsHost;
    private readonly float[] coefficientsHost, sseHost;
    private readonly Tensor<int> ends;
    private readonly Tensor<float> coefficients, gGroup, sse, zeroD;
    private readonly SparseCodes groups;
    private readonly SortedSet<int> chosen = [];

    /// <summary>Scratch for the batches of <paramref name="codes"/> (B rows) on <paramref name="sae"/>, trained with <paramref name="config"/>.</summary>
    public MatryoshkaLoss(SparseAutoencoder sae, SparseCodes codes, TrainConfig config)
    {
        var widths = sae.Config.MatryoshkaWidths ?? throw new ArgumentException("MatryoshkaLoss needs an SAE with SaeConfig.MatryoshkaWidths.");
        be = sae.Backend;
        (b, d, f) = (codes.Rows, sae.Config.InputDim, sae.Config.Latents);
        random = config.RandomPrefixes > 0;
        n = random ? config.RandomPrefixes : widths.Count;
        minPrefix = config.MinPrefix;
        config.Validate(sae.Config);
        var weights = random ? null : config.PrefixWeights;
        rng = new ResumableRandom(unchecked(config.Seed * 31 + 7));
        endsHost = random ? new int[n] : [.. widths];
        double total = weights?.Sum() ?? n;
        Weights = [.. Enumerable.Range(0, n).Select(i => (weights?[i] ?? 1) / total)];
        coefficientsHost = [.. Weights.Select(w => (float)(2 * w / ((double)b * d)))];
        (ends, coefficients) = (be.FromHost<int>(endsHost), be.FromHost<float>(coefficientsHost));
        (gGroup, sse, zeroD) = (be.Allocate<float>((long)b * n * d), be.Allocate<float>((long)b * n), be.Allocate<float>(d));
        sseHost = new float[b * n];
        PrefixSse = new double[n];
        groups = codes.GroupView(n);
    }

    /// <summary>Number of prefixes n per step.</summary>
    public int Prefixes => n;

    /// <summary>Prefix sizes of the last step (ascending, last = F).</summary>
    public IReadOnlyList<int> Ends => endsHost;

    /// <summary>Normalized weights w_i (summing to 1).</summary>
    public IReadOnlyList<double> Weights { get; }

    /// <summary>Σ_b ‖x̂_i − x‖² of each prefix in the last step [n] (overwritten by every step).</summary>
    public double[] PrefixSse { get; }

    /// <summary>
    /// Runs the fused prefix loss on <paramref name="codes"/> for x [B, d]: writes gOut [B, d] = ∂L/∂x̂ summed over prefixes
    /// and gValues = ∂L/∂a; returns the loss L.
    /// </summary>
    public double Forward(SparseAutoencoder sae, SparseCodes codes, Tensor<float> x, Tensor<float> gOut, Tensor<float> gValues)
    {
        if (random) SampleEnds();
        be.PrefixLoss(codes, sae.WDec, sae.BDec, x, ends, coefficients, groups, gGroup, gOut, gValues, sse);
        be.Download(sse, sseHost);
        Array.Clear(PrefixSse);
        for (int r = 0; r < b; r++)
            for (int i = 0; i < n; i++) PrefixSse[i] += sseHost[r * n + i];
        double loss = 0;
        for (int i = 0; i < n; i++) loss += Weights[i] * PrefixSse[i] / ((double)b * d);
        return loss;
    }

    /// <summary>∂L/∂W_dec [F, d] (overwritten) from the last <see cref="Forward"/>; gSum [F] and counts [F] as in AggregateByLatent.</summary>
    public void DecoderGrad(Tensor<float> values, Tensor<float> gWDec, Tensor<float> gSum, Tensor<int> counts) =>
        be.AggregateByLatent(groups, values, gGroup, zeroD, false, gWDec, gSum, counts);

    // n − 1 distinct sizes in [m0, F − 1] by inverse CDF of P(m ≤ M) = √(M − m0 + 1)/√(F − m0), then F.
    private void SampleEnds()
    {
        chosen.Clear();
        while (chosen.Count < n - 1)
        {
            double u = rng.NextDouble();
            chosen.Add(minPrefix + Math.Max(1, (int)Math.Ceiling(u * u * (f - minPrefix))) - 1);
        }
        chosen.CopyTo(endsHost);
        endsHost[n - 1] = f;
        be.Upload<int>(endsHost, ends);
    }

    /// <summary>Writes the stream of the random prefix sizes.</summary>
    public void WriteState(BinaryWriter writer) => rng.WriteState(writer);

    /// <summary>Restores the stream of the random prefix sizes.</summary>
    public void ReadState(BinaryReader reader) => rng.ReadState(reader);

    /// <summary>Frees the scratch tensors and the group view.</summary>
    public void Dispose()
    {
        groups.Dispose();
        ends.Dispose();
        foreach (var t in new[] { coefficients, gGroup, sse, zeroD }) t.Dispose();
    }
}
