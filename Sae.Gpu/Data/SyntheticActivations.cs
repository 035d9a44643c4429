using SaeGpu.Training;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>Settings of <see cref="SyntheticActivations"/>.</summary>
/// <param name="InputDim">d, width of each activation vector.</param>
/// <param name="Features">N, number of true feature directions (unit vectors in R^d, random).</param>
/// <param name="MeanActive">Expected number of features firing per token.</param>
/// <param name="ZipfExponent">Firing probability of feature n ∝ 1/(n+1)^exponent (0 = uniform).</param>
/// <param name="MinMagnitude">Smallest coefficient of a firing feature.</param>
/// <param name="MaxMagnitude">Largest coefficient (uniform between the two).</param>
/// <param name="Noise">Standard deviation of isotropic Gaussian noise added to every coordinate.</param>
/// <param name="Offset">Norm of a constant offset vector added to every token (what b_dec should learn).</param>
/// <param name="Seed">Seed of directions, probabilities and (unless <paramref name="StreamSeed"/> is set) the token stream.</param>
/// <param name="StreamSeed">Seed of the token stream alone: the same features, fresh tokens (held-out evaluation).</param>
/// <param name="DownstreamEvery">
/// m &gt; 0 adds a known downstream loss that depends on every m-th feature only (n mod m = m − 1, which mixes frequent and
/// rare features): <c>L(x) = ½ Σ_{n∈R} ⟨f_n, x − o⟩²</c>, o the offset, so <c>∂L/∂x = Σ_{n∈R} ⟨f_n, x − o⟩·f_n</c>; the source
/// then supplies these gradients (what g-SAE selects with) and <see cref="SyntheticActivations.DownstreamFvu"/>. 0 = none.
/// The token stream is the same either way.
/// </param>
/// <param name="Signed">
/// When true, each firing feature's coefficient is negated with probability ½, so a feature is used in both directions
/// (the setting of AbsTopK, arXiv 2510.00404, where a non-negative code needs two latents per feature). False keeps the
/// stream of earlier versions unchanged.
/// </param>
public sealed record SyntheticOptions(
    int InputDim = 64,
    int Features = 256,
    double MeanActive = 4,
    double ZipfExponent = 0.6,
    double MinMagnitude = 0.5,
    double MaxMagnitude = 1.5,
    double Noise = 0.01,
    double Offset = 1.0,
    int Seed = 0,
    int? StreamSeed = null,
    int DownstreamEvery = 0,
    bool Signed = false)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public SyntheticOptions Validate()
    {
        if (InputDim < 1) throw new ArgumentException($"SyntheticOptions.InputDim must be ≥ 1, got {InputDim}.");
        if (Features < 1) throw new ArgumentException($"SyntheticOptions.Features must be ≥ 1, got {Features}.");
        if (!(MeanActive > 0 && MeanActive <= Features)) throw new ArgumentException($"SyntheticOptions.MeanActive must be in (0, Features], got {MeanActive}.");
        if (!(ZipfExponent >= 0)) throw new ArgumentException($"SyntheticOptions.ZipfExponent must be ≥ 0, got {ZipfExponent}.");
        if (!(MinMagnitude > 0 && MaxMagnitude >= MinMagnitude)) throw new ArgumentException($"SyntheticOptions magnitudes must satisfy 0 < Min ≤ Max, got [{MinMagnitude}, {MaxMagnitude}].");
        if (!(Noise >= 0)) throw new ArgumentException($"SyntheticOptions.Noise must be ≥ 0, got {Noise}.");
        if (!(Offset >= 0)) throw new ArgumentException($"SyntheticOptions.Offset must be ≥ 0, got {Offset}.");
        if (DownstreamEvery < 0 || DownstreamEvery > Features)
            throw new ArgumentException($"SyntheticOptions.DownstreamEvery must be in [0, Features = {Features}], got {DownstreamEvery}.");
        return this;
    }
}

/// <summary>
/// Seeded synthetic activations with known features: token = offset + Σ_{n fires} c_n·f_n + noise, with unit directions
/// f_n [N, d], feature n firing independently with probability p_n ∝ (n+1)^−exponent scaled so Σ p_n = MeanActive
/// (capped at 1), and c_n ~ U[MinMagnitude, MaxMagnitude] (± with <see cref="SyntheticOptions.Signed"/>). The ground truth an SAE should recover is <see cref="Directions"/>.
/// </summary>
public sealed class SyntheticActivations : IGroundTruthSource, IResumable
{
    private readonly ResumableRandom rng;
    private readonly double[] probability;
    private readonly int[] relevant;

    /// <summary>Creates the source (validates <paramref name="options"/>).</summary>
    public SyntheticActivations(SyntheticOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validate();
        var setup = new Random(options.Seed);
        Directions = SparseAutoencoder.RandomUnitRows(options.Features, options.InputDim, setup);
        OffsetVector = SparseAutoencoder.RandomUnitRows(1, options.InputDim, setup);
        for (int i = 0; i < OffsetVector.Length; i++) OffsetVector[i] *= (float)options.Offset;
        var raw = Enumerable.Range(0, options.Features).Select(n => Math.Pow(n + 1, -options.ZipfExponent)).ToArray();
        double scale = options.MeanActive / raw.Sum();
        probability = [.. raw.Select(p => Math.Min(1.0, p * scale))];
        rng = new ResumableRandom(unchecked((options.StreamSeed ?? options.Seed) * 7919 + 17));
        int m = options.DownstreamEvery;
        relevant = m == 0 ? [] : [.. Enumerable.Range(0, options.Features).Where(n => n % m == m - 1)];
    }

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer) => writer.WriteStream(rng, StateShape);

    /// <inheritdoc />
    public void ReadState(BinaryReader reader) => reader.ReadStream(rng, StateShape);

    private (string, long)[] StateShape => [("Input width d", InputDim), ("Number of true features", Options.Features)];

    /// <summary>The settings.</summary>
    public SyntheticOptions Options { get; }

    /// <inheritdoc />
    public int InputDim => Options.InputDim;

    /// <summary>True feature directions [N, d], unit rows.</summary>
    public float[] Directions { get; }

    /// <summary>The constant offset [d] added to every token.</summary>
    public float[] OffsetVector { get; }

    /// <summary>Firing probability of each feature [N].</summary>
    public IReadOnlyList<double> Probabilities => probability;

    /// <summary>True when the options define a downstream loss (<see cref="SyntheticOptions.DownstreamEvery"/> &gt; 0).</summary>
    public bool ProvidesGradients => relevant.Length > 0;

    /// <summary>The features the downstream loss depends on (empty without one).</summary>
    public IReadOnlyList<int> Relevant => relevant;

    /// <summary>Fills x [B, d] with the next B tokens and <paramref name="gradients"/> [B, d] with the downstream loss's ∂L/∂x of each.</summary>
    public void NextBatch(Span<float> x, Span<float> gradients)
    {
        if (!ProvidesGradients) throw new NotSupportedException("This synthetic source has no downstream loss (SyntheticOptions.DownstreamEvery = 0).");
        if (gradients.Length != x.Length) throw new ArgumentException($"Gradients have {gradients.Length} values; x has {x.Length}.", nameof(gradients));
        NextBatch(x);
        int d = InputDim;
        gradients.Clear();
        for (int r = 0; r < x.Length / d; r++)
            foreach (int n in relevant)
            {
                double c = Project(n, x.Slice(r * d, d), OffsetVector);
                for (int i = 0; i < d; i++) gradients[r * d + i] += (float)(c * Directions[n * d + i]);
            }
    }

    /// <summary>
    /// Downstream FVU: Σ_t Σ_{n∈R} ⟨f_n, x_t − x̂_t⟩² / Σ_t Σ_{n∈R} ⟨f_n, x_t − x̄⟩², the share of the relevant features'
    /// variance that the reconstruction x̂ [T, d] of x [T, d] loses. Requires a downstream loss.
    /// </summary>
    public double DownstreamFvu(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat)
    {
        if (!ProvidesGradients) throw new InvalidOperationException("This synthetic source has no downstream loss (SyntheticOptions.DownstreamEvery = 0).");
        if (xhat.Length != x.Length) throw new ArgumentException($"xhat has {xhat.Length} values; x has {x.Length}.", nameof(xhat));
        int d = InputDim;
        var mean = Metrics.ColumnMean(x, d);
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

    /// <summary>
    /// How well <paramref name="sae"/>'s decoder rows recover the true feature directions (|cosine| for architectures with
    /// signed codes); see <see cref="GroundTruthRecovery"/>.
    /// </summary>
    public GroundTruthRecovery Recovery(SparseAutoencoder sae, double threshold = GroundTruthRecovery.DefaultThreshold) =>
        GroundTruthRecovery.Of(sae, Directions, threshold);

    private double Project(int n, ReadOnlySpan<float> v, ReadOnlySpan<float> center)
    {
        int d = InputDim;
        double s = 0;
        for (int i = 0; i < d; i++) s += (v[i] - (center.IsEmpty ? 0 : center[i])) * (double)Directions[n * d + i];
        return s;
    }

    /// <summary>Fills <paramref name="destination"/> [B, d] with the next B tokens of the stream.</summary>
    public void NextBatch(Span<float> destination)
    {
        int d = Options.InputDim;
        if (destination.Length == 0 || destination.Length % d != 0)
            throw new ArgumentException($"Destination has {destination.Length} values, not a positive multiple of d = {d}.", nameof(destination));
        double span = Options.MaxMagnitude - Options.MinMagnitude;
        for (int r = 0; r < destination.Length / d; r++)
        {
            var row = destination.Slice(r * d, d);
            for (int i = 0; i < d; i++) row[i] = OffsetVector[i] + (float)(Options.Noise * SparseAutoencoder.Gaussian(rng));
            for (int n = 0; n < probability.Length; n++)
            {
                if (rng.NextDouble() >= probability[n]) continue;
                float c = (float)(Options.MinMagnitude + span * rng.NextDouble());
                if (Options.Signed && rng.NextDouble() < 0.5) c = -c;
                var dir = Directions.AsSpan(n * d, d);
                for (int i = 0; i < d; i++) row[i] += c * dir[i];
            }
        }
    }
}
