using SaeGpu.Training;

namespace SaeGpu.Data;

/// <summary>
/// Synthetic activations (<see cref="SyntheticActivations"/>) with a known downstream loss that depends on some features
/// only: <c>L(x) = ½ Σ_{n∈R} ⟨f_n, x − o⟩²</c> (o the source's offset), so <c>∂L/∂x = Σ_{n∈R} ⟨f_n, x − o⟩·f_n</c>. The
/// relevant set R is every <c>relevantEvery</c>-th feature (n mod m = m − 1), which mixes frequent and rare features. Used to
/// train and test g-SAE, whose selection favours latents along which the downstream loss changes.
/// </summary>
public sealed class DownstreamActivations : IGroundTruthSource, IGradientSource, IResumable
{
    private readonly SyntheticActivations source;
    private readonly int[] relevant;

    /// <summary>Wraps <paramref name="source"/>; features n with n mod <paramref name="relevantEvery"/> = relevantEvery − 1 matter downstream.</summary>
    public DownstreamActivations(SyntheticActivations source, int relevantEvery = 4)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(relevantEvery, 1);
        this.source = source;
        relevant = [.. Enumerable.Range(0, source.Options.Features).Where(n => n % relevantEvery == relevantEvery - 1)];
        if (relevant.Length == 0) throw new ArgumentException($"No feature is relevant: {source.Options.Features} features, every {relevantEvery}th.");
    }

    /// <inheritdoc />
    public int InputDim => source.InputDim;

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer) => source.WriteState(writer);

    /// <inheritdoc />
    public void ReadState(BinaryReader reader) => source.ReadState(reader);

    /// <inheritdoc />
    public float[] Directions => source.Directions;

    /// <summary>The features the downstream loss depends on.</summary>
    public IReadOnlyList<int> Relevant => relevant;

    /// <inheritdoc />
    public void NextBatch(Span<float> destination) => source.NextBatch(destination);

    /// <inheritdoc />
    public void NextBatch(Span<float> x, Span<float> gradients)
    {
        if (gradients.Length != x.Length) throw new ArgumentException($"Gradients have {gradients.Length} values; x has {x.Length}.", nameof(gradients));
        source.NextBatch(x);
        int d = InputDim;
        gradients.Clear();
        for (int r = 0; r < x.Length / d; r++)
            foreach (int n in relevant)
            {
                double c = Project(n, x.Slice(r * d, d), source.OffsetVector);
                for (int i = 0; i < d; i++) gradients[r * d + i] += (float)(c * Directions[n * d + i]);
            }
    }

    /// <summary>
    /// Downstream FVU: Σ_t Σ_{n∈R} ⟨f_n, x_t − x̂_t⟩² / Σ_t Σ_{n∈R} ⟨f_n, x_t − x̄⟩², the share of the relevant features'
    /// variance that the reconstruction x̂ [T, d] loses.
    /// </summary>
    public double DownstreamFvu(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat)
    {
        int d = InputDim;
        var mean = Evaluation.Metrics.ColumnMean(x, d);
        var diff = new float[d];
        double err = 0, total = 0;
        for (int r = 0; r < x.Length / d; r++)
        {
            var row = x.Slice(r * d, d);
            for (int i = 0; i < d; i++) diff[i] = row[i] - xhat[r * d + i];
            foreach (int n in relevant)
            {
                double e = Project(n, diff, default), v = Project(n, row, mean);
                (err, total) = (err + e * e, total + v * v);
            }
        }
        return err / total;
    }

    private double Project(int n, ReadOnlySpan<float> v, ReadOnlySpan<float> center)
    {
        int d = InputDim;
        double s = 0;
        for (int i = 0; i < d; i++) s += (v[i] - (center.IsEmpty ? 0 : center[i])) * (double)Directions[n * d + i];
        return s;
    }
}
