using SaeGpu.Model;
using SaeGpu.Training;

namespace SaeGpu.Data;

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
    int? StreamSeed = null)
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
        return this;
    }
}

/// <summary>
/// Seeded synthetic activations with known features: token = offset + Σ_{n fires} c_n·f_n + noise, with unit directions
/// f_n [N, d], feature n firing independently with probability p_n ∝ (n+1)^−exponent scaled so Σ p_n = MeanActive
/// (capped at 1), and c_n ~ U[MinMagnitude, MaxMagnitude]. The ground truth an SAE should recover is <see cref="Directions"/>.
/// </summary>
public sealed class SyntheticActivations : IGroundTruthSource, IResumable
{
    private readonly ResumableRandom rng;
    private readonly double[] probability;

    /// <summary>Creates the source (validates <paramref name="options"/>).</summary>
    public SyntheticActivations(SyntheticOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validate();
        var setup = new Random(options.Seed);
        Directions = Sae.RandomUnitRows(options.Features, options.InputDim, setup);
        OffsetVector = Sae.RandomUnitRows(1, options.InputDim, setup);
        for (int i = 0; i < OffsetVector.Length; i++) OffsetVector[i] *= (float)options.Offset;
        var raw = Enumerable.Range(0, options.Features).Select(n => Math.Pow(n + 1, -options.ZipfExponent)).ToArray();
        double scale = options.MeanActive / raw.Sum();
        probability = [.. raw.Select(p => Math.Min(1.0, p * scale))];
        rng = new ResumableRandom(unchecked((options.StreamSeed ?? options.Seed) * 7919 + 17));
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
            for (int i = 0; i < d; i++) row[i] = OffsetVector[i] + (float)(Options.Noise * Sae.Gaussian(rng));
            for (int n = 0; n < probability.Length; n++)
            {
                if (rng.NextDouble() >= probability[n]) continue;
                float c = (float)(Options.MinMagnitude + span * rng.NextDouble());
                var dir = Directions.AsSpan(n * d, d);
                for (int i = 0; i < d; i++) row[i] += c * dir[i];
            }
        }
    }
}
