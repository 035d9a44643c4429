using System.Runtime.InteropServices;
using SaeGpu.Compute;
using SaeGpu.Training;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>Settings of <see cref="ItdaDictionary.Build"/>.</summary>
/// <param name="K">Matching-pursuit steps per activation (the ITDA code's default is 40).</param>
/// <param name="Threshold">
/// τ: an activation becomes an atom when err = mean_i (x/‖x‖ − x̂/‖x̂‖)_i² &gt; τ for its reconstruction x̂ by the current
/// dictionary (the ITDA code's criterion; for unit vectors err = (2 − 2 cos)/d). Null → 0.3/d, i.e. cos(x, x̂) below ≈ 0.85
/// (≈ the code's τ = 0.0004 at d = 768; ours as a default for any d).
/// </param>
/// <param name="MaxAtoms">Optional cap on the dictionary size (adding stops when it is reached).</param>
public sealed record ItdaOptions(int K = 40, double? Threshold = null, int? MaxAtoms = null)
{
    /// <summary>
    /// The most pursuit steps a dictionary of width d may use: max(d, 64) (ours). Plain matching pursuit may pick an atom
    /// again, so k past d is allowed for narrow inputs, but a cap keeps a file's encoding time (k·n·d per row) in proportion
    /// to its size: a dictionary file declaring k = 10⁶ is refused instead of running for minutes.
    /// </summary>
    internal static int MaxK(int d) => Math.Max(d, 64);

    /// <summary>The threshold in effect for width <paramref name="d"/>.</summary>
    public double ThresholdFor(int d) => Threshold ?? 0.3 / d;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public ItdaOptions Validate()
    {
        if (K < 1) throw new ArgumentException($"ItdaOptions.K must be ≥ 1, got {K}.");
        if (Threshold is { } t && !(t >= 0 && double.IsFinite(t))) throw new ArgumentException($"ItdaOptions.Threshold must be ≥ 0, got {t}.");
        if (MaxAtoms is < 1) throw new ArgumentException($"ItdaOptions.MaxAtoms must be ≥ 1, got {MaxAtoms}.");
        return this;
    }
}

/// <summary>
/// Builds an <see cref="ItdaDictionary"/> from a stream of activations, as the ITDA code's trainer does per batch: while the
/// dictionary has fewer than d atoms, the batch's most frequent distinct non-zero activations are added first; then the
/// batch is encoded with the current dictionary by matching pursuit, and every activation whose normalized reconstruction
/// error exceeds τ is added (scaled to unit norm, with its label). All decisions in a batch use the dictionary from before
/// the batch, so near-duplicates in one batch can both enter.
/// </summary>
internal sealed class ItdaBuilder
{
    private readonly Backend be;
    private readonly int d;
    private readonly ItdaOptions options;
    private readonly double threshold;
    private readonly List<float> atoms = [];
    private readonly List<AtomLabel> labels = [];
    private readonly HashSet<string> seeded = [];

    /// <summary>A builder for activations of width <paramref name="inputDim"/> on <paramref name="backend"/>.</summary>
    public ItdaBuilder(Backend backend, int inputDim, ItdaOptions options)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputDim);
        if (options.K > ItdaOptions.MaxK(inputDim))
            throw new ArgumentException($"ItdaOptions.K = {options.K} exceeds max(d, 64) = {ItdaOptions.MaxK(inputDim)} pursuit steps.", nameof(options));
        (be, d, this.options) = (backend, inputDim, options.Validate());
        threshold = options.ThresholdFor(inputDim);
    }

    /// <summary>Atoms so far.</summary>
    public int Size => labels.Count;

    private bool Full => options.MaxAtoms is { } m && Size >= m;

    /// <summary>Processes one batch x [B, d] with labels [B]; returns the number of atoms added.</summary>
    public int Update(ReadOnlySpan<float> batch, ReadOnlySpan<AtomLabel> batchLabels)
    {
        if (batch.Length != (long)batchLabels.Length * d || batchLabels.Length == 0)
            throw new ArgumentException($"Batch has {batch.Length} values and {batchLabels.Length} labels; expected B·d values (d = {d}) and B ≥ 1 labels.");
        int before = Size;
        if (Full) return 0;
        if (Size < d) SeedWithFrequent(batch, batchLabels);
        if (Size == 0 || Full) return Size - before;
        var errors = Errors(batch);
        for (int r = 0; r < batchLabels.Length && !Full; r++)
            if (errors[r] > threshold) Add(batch.Slice(r * d, d), batchLabels[r]);
        return Size - before;
    }

    /// <summary>The dictionary built so far, with <see cref="ItdaOptions.K"/> pursuit steps for encoding.</summary>
    public ItdaDictionary Build() => new(be, d, CollectionsMarshal.AsSpan(atoms), labels, options.K);

    // err_b = mean_i (x_b/‖x_b‖ − x̂_b/‖x̂_b‖)², x̂ = x − residual of the pursuit over the current atoms (norms clamped at 1e-9).
    private double[] Errors(ReadOnlySpan<float> batch)
    {
        int b = batch.Length / d;
        using var dict = be.FromHost<float>(CollectionsMarshal.AsSpan(atoms));
        using var x = be.FromHost(batch);
        using var residual = be.Allocate<float>(batch.Length);
        using var codes = new SparseCodes(be, b, (long)b * options.K);
        be.MatchingPursuit(x, dict, options.K, codes, residual);
        var res = be.ToHost(residual);
        var errors = new double[b];
        for (int r = 0; r < b; r++)
        {
            var row = batch.Slice(r * d, d);
            double nx = 0, nh = 0;
            for (int i = 0; i < d; i++) { double h = row[i] - res[r * d + i]; nx += (double)row[i] * row[i]; nh += h * h; }
            (nx, nh) = (Math.Max(Math.Sqrt(nx), 1e-9), Math.Max(Math.Sqrt(nh), 1e-9));
            double e = 0;
            for (int i = 0; i < d; i++) { double u = row[i] / nx - (row[i] - res[r * d + i]) / nh; e += u * u; }
            errors[r] = e / d;
        }
        return errors;
    }

    // Distinct non-zero rows by count (then first occurrence) until the dictionary has d atoms; rows seeded by an earlier
    // batch (a recurring activation such as a BOS token's) are not added twice.
    private void SeedWithFrequent(ReadOnlySpan<float> batch, ReadOnlySpan<AtomLabel> batchLabels)
    {
        var groups = new Dictionary<string, (int Count, int First)>();
        for (int r = 0; r < batchLabels.Length; r++)
        {
            string key = Convert.ToBase64String(MemoryMarshal.AsBytes(batch.Slice(r * d, d)));
            groups[key] = groups.TryGetValue(key, out var g) ? (g.Count + 1, g.First) : (1, r);
        }
        foreach (var (key, (_, first)) in groups.OrderByDescending(g => g.Value.Count).ThenBy(g => g.Value.First))
        {
            if (Size >= d || Full) break;
            if (seeded.Add(key)) Add(batch.Slice(first * d, d), batchLabels[first]);
        }
    }

    private void Add(ReadOnlySpan<float> x, AtomLabel label)
    {
        double norm = 0;
        foreach (float v in x) norm += (double)v * v;
        if (norm == 0) return;
        float inv = (float)(1 / Math.Sqrt(norm));
        foreach (float v in x) atoms.Add(v * inv);
        labels.Add(label);
    }
}
