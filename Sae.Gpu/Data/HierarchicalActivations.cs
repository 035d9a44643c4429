using SaeGpu.Training;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>Settings of <see cref="HierarchicalActivations"/>.</summary>
/// <param name="InputDim">d, width of each activation vector.</param>
/// <param name="Trees">Number of root features (one tree each).</param>
/// <param name="Branching">Children of every non-leaf feature.</param>
/// <param name="Levels">Depth of each tree: 1 = roots only, 3 = roots, children, grandchildren.</param>
/// <param name="RootProbability">Probability that a root fires on a token (independently per root).</param>
/// <param name="ChildProbability">
/// Probability that one child of a firing feature fires; the children are mutually exclusive and equally likely (the stored
/// tree of the paper's toy code has the same shape: one read-out child or none).
/// </param>
/// <param name="ParentCosine">ρ = cos(child direction, parent direction): child = normalize(ρ·parent + √(1 − ρ²)·u), u ⟂ parent random.</param>
/// <param name="MinMagnitude">Smallest coefficient of a firing feature.</param>
/// <param name="MaxMagnitude">Largest coefficient (uniform between the two; both 1 = the paper's unit coefficients).</param>
/// <param name="Noise">Standard deviation of isotropic Gaussian noise on every coordinate.</param>
/// <param name="Offset">Norm of a constant offset vector added to every token.</param>
/// <param name="Seed">Seed of the directions and the token stream.</param>
public sealed record HierarchyOptions(
    int InputDim = 64,
    int Trees = 24,
    int Branching = 3,
    int Levels = 3,
    double RootProbability = 0.15,
    double ChildProbability = 0.6,
    double ParentCosine = 0.3,
    double MinMagnitude = 1.0,
    double MaxMagnitude = 1.0,
    double Noise = 0.01,
    double Offset = 1.0,
    int Seed = 0)
{
    /// <summary>Total number of features: Trees·(1 + b + … + b^(Levels−1)).</summary>
    public int Features => Trees * Enumerable.Range(0, Levels).Sum(l => (int)Math.Pow(Branching, l));

    /// <summary>Expected features firing per token: Trees·p_root·(1 + q + … + q^(Levels−1)).</summary>
    public double MeanActive => Trees * RootProbability * Enumerable.Range(0, Levels).Sum(l => Math.Pow(ChildProbability, l));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public HierarchyOptions Validate()
    {
        if (InputDim < 2) throw new ArgumentException($"HierarchyOptions.InputDim must be ≥ 2, got {InputDim}.");
        if (Trees < 1) throw new ArgumentException($"HierarchyOptions.Trees must be ≥ 1, got {Trees}.");
        if (Branching < 1) throw new ArgumentException($"HierarchyOptions.Branching must be ≥ 1, got {Branching}.");
        if (Levels < 1 || Levels > 8) throw new ArgumentException($"HierarchyOptions.Levels must be in [1, 8], got {Levels}.");
        if ((long)Trees * (long)Math.Pow(Branching, Levels - 1) * Levels > 1_000_000)
            throw new ArgumentException($"HierarchyOptions: {Trees} trees × branching {Branching} × {Levels} levels exceed 1,000,000 features.");
        if (!(RootProbability > 0 && RootProbability <= 1)) throw new ArgumentException($"HierarchyOptions.RootProbability must be in (0, 1], got {RootProbability}.");
        if (!(ChildProbability >= 0 && ChildProbability <= 1)) throw new ArgumentException($"HierarchyOptions.ChildProbability must be in [0, 1], got {ChildProbability}.");
        if (!(ParentCosine >= 0 && ParentCosine < 1)) throw new ArgumentException($"HierarchyOptions.ParentCosine must be in [0, 1), got {ParentCosine}.");
        if (!(MinMagnitude > 0 && MaxMagnitude >= MinMagnitude)) throw new ArgumentException($"HierarchyOptions magnitudes must satisfy 0 < Min ≤ Max, got [{MinMagnitude}, {MaxMagnitude}].");
        if (!(Noise >= 0)) throw new ArgumentException($"HierarchyOptions.Noise must be ≥ 0, got {Noise}.");
        if (!(Offset >= 0)) throw new ArgumentException($"HierarchyOptions.Offset must be ≥ 0, got {Offset}.");
        return this;
    }
}

/// <summary>
/// Seeded activations from trees of features (the toy model of Matryoshka SAEs, arXiv 2503.17547 §4.1, generalized):
/// token = offset + Σ_{n fires} c_n·f_n + noise. Each root fires independently; a firing feature passes to at most one of its
/// children (a child fires only when its parent fires), so a parent is always active when a child is — the situation in
/// which an SAE may "absorb" the parent into child latents. Features are numbered level by level (roots first).
/// </summary>
public sealed class HierarchicalActivations : IGroundTruthSource, IResumable
{
    private readonly ResumableRandom rng;
    private readonly int[] parent, level, firstChild;

    /// <summary>Creates the source (validates <paramref name="options"/>).</summary>
    public HierarchicalActivations(HierarchyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Validate();
        int n = options.Features, d = options.InputDim;
        (parent, level, firstChild) = (new int[n], new int[n], new int[n]);
        BuildTrees();
        var setup = new Random(options.Seed);
        Directions = new float[(long)n * d];
        var noise = SparseAutoencoder.RandomUnitRows(n, d, setup);
        for (int f = 0; f < n; f++) SetDirection(f, noise.AsSpan(f * d, d));
        OffsetVector = SparseAutoencoder.RandomUnitRows(1, d, setup);
        for (int i = 0; i < d; i++) OffsetVector[i] *= (float)options.Offset;
        rng = new ResumableRandom(unchecked(options.Seed * 7919 + 29));
    }

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer) => writer.WriteStream(rng, StateShape);

    /// <inheritdoc />
    public void ReadState(BinaryReader reader) => reader.ReadStream(rng, StateShape);

    private (string, long)[] StateShape => [("Input width d", InputDim), ("Number of true features", Options.Features)];

    /// <summary>The settings.</summary>
    public HierarchyOptions Options { get; }

    /// <inheritdoc />
    public int InputDim => Options.InputDim;

    /// <summary>Number of features N.</summary>
    public int Features => parent.Length;

    /// <summary>True feature directions [N, d], unit rows, numbered level by level.</summary>
    public float[] Directions { get; }

    /// <summary>The constant offset [d] added to every token.</summary>
    public float[] OffsetVector { get; }

    /// <summary>Parent of each feature [N] (−1 for roots).</summary>
    public IReadOnlyList<int> Parent => parent;

    /// <summary>Depth of each feature [N] (0 for roots).</summary>
    public IReadOnlyList<int> Level => level;

    /// <summary>The children of feature <paramref name="f"/> (empty for leaves).</summary>
    public IEnumerable<int> Children(int f) => firstChild[f] < 0 ? [] : Enumerable.Range(firstChild[f], Options.Branching);

    /// <inheritdoc />
    public void NextBatch(Span<float> destination) => NextBatch(destination, default);

    /// <summary>
    /// Fills <paramref name="destination"/> [B, d] with the next B tokens; when <paramref name="active"/> [B, N] is not empty,
    /// sets active[b, n] = 1 exactly when feature n fires on token b (0 otherwise).
    /// </summary>
    public void NextBatch(Span<float> destination, Span<byte> active)
    {
        int d = Options.InputDim, n = Features;
        if (destination.Length == 0 || destination.Length % d != 0)
            throw new ArgumentException($"Destination has {destination.Length} values, not a positive multiple of d = {d}.", nameof(destination));
        int b = destination.Length / d;
        if (!active.IsEmpty && active.Length != (long)b * n)
            throw new ArgumentException($"Active flags have {active.Length} entries; expected B·N = {b}·{n}.", nameof(active));
        active.Clear();
        for (int r = 0; r < b; r++)
        {
            var row = destination.Slice(r * d, d);
            for (int i = 0; i < d; i++) row[i] = OffsetVector[i] + (float)(Options.Noise * SparseAutoencoder.Gaussian(rng));
            for (int root = 0; root < Options.Trees; root++)
                if (rng.NextDouble() < Options.RootProbability)
                    Fire(root, row, active.IsEmpty ? default : active.Slice(r * n, n));
        }
    }

    private void Fire(int f, Span<float> row, Span<byte> active)
    {
        for (; f >= 0; f = firstChild[f] >= 0 && rng.NextDouble() < Options.ChildProbability ? firstChild[f] + rng.Next(Options.Branching) : -1)
        {
            float c = (float)(Options.MinMagnitude + (Options.MaxMagnitude - Options.MinMagnitude) * rng.NextDouble());
            var dir = Directions.AsSpan(f * Options.InputDim, Options.InputDim);
            for (int i = 0; i < row.Length; i++) row[i] += c * dir[i];
            if (!active.IsEmpty) active[f] = 1;
        }
    }

    // Level-by-level numbering: level l starts after all features of the levels above it.
    private void BuildTrees()
    {
        int start = 0, count = Options.Trees;
        for (int l = 0; l < Options.Levels; l++)
        {
            for (int i = 0; i < count; i++)
            {
                int f = start + i;
                level[f] = l;
                parent[f] = l == 0 ? -1 : start - count / Options.Branching + i / Options.Branching;
                firstChild[f] = l + 1 < Options.Levels ? start + count + i * Options.Branching : -1;
            }
            start += count;
            count *= Options.Branching;
        }
    }

    // Roots: random unit vectors. Children: normalize(ρ·parent + √(1 − ρ²)·u) with u the random row made orthogonal to the parent.
    private void SetDirection(int f, ReadOnlySpan<float> random)
    {
        int d = Options.InputDim;
        var dir = Directions.AsSpan(f * d, d);
        random.CopyTo(dir);
        if (parent[f] < 0) return;
        var p = Directions.AsSpan(parent[f] * d, d);
        double dot = 0, norm = 0, rho = Options.ParentCosine;
        for (int i = 0; i < d; i++) dot += (double)dir[i] * p[i];
        for (int i = 0; i < d; i++) { dir[i] -= (float)(dot * p[i]); norm += (double)dir[i] * dir[i]; }
        double scale = Math.Sqrt(1 - rho * rho) / Math.Sqrt(norm);
        for (int i = 0; i < d; i++) dir[i] = (float)(rho * p[i] + scale * dir[i]);
    }
}
