using SaeGpu.Architectures;
using SaeGpu.Compute;
using SaeGpu.Training;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>Shape and sparsifier of a sparse autoencoder: input width d, number of latents F, sparsity k, architecture.</summary>
/// <param name="InputDim">d, the width of each activation vector x [B, d].</param>
/// <param name="Latents">F, the dictionary size (rows of W_enc [F, d] and W_dec [F, d]).</param>
/// <param name="K">
/// k, 1 ≤ k ≤ F: active latents per row for TopK/AbsTopK, the mean per row for BatchTopK/Mutual Choice/Feature Choice,
/// the cap on top-AFA's per-token count, and the target L0 of the ReLU, JumpReLU and GBA controllers.
/// </param>
/// <param name="Architecture">
/// How the code is selected, by name (<see cref="Architectures"/> lists them: topk, abstopk, batchtopk, …); stored trimmed
/// and in lower case.
/// </param>
/// <param name="MatryoshkaWidths">
/// Nested dictionary sizes m_1 &lt; … &lt; m_n = F of a Matryoshka SAE (Bussmann et al., arXiv 2503.17547): every prefix
/// W_dec[0 : m_i] must reconstruct x on its own during training. Null for a plain SAE. Allowed with TopK, AbsTopK and
/// BatchTopK selection. Inference encodes and decodes with all F latents, as for the plain architecture.
/// </param>
public sealed record SaeConfig(int InputDim, int Latents, int K, string Architecture = "topk",
    IReadOnlyList<int>? MatryoshkaWidths = null)
{
    /// <summary>The architecture's name, trimmed and in lower case.</summary>
    public string Architecture { get; init; } = (Architecture ?? "").Trim().ToLowerInvariant();

    /// <summary>The names of all architectures, in listing order.</summary>
    public static IReadOnlyList<string> Architectures => ArchitectureRegistry.Names;

    /// <summary>Other accepted names, each with the architecture it selects (e.g. <c>mutual-choice</c> → <c>batchtopk</c>).</summary>
    public static IReadOnlyDictionary<string, string> ArchitectureAliases { get; } =
        ArchitectureRegistry.All.SelectMany(a => a.Aliases.Select(alias => (alias, a.Name))).ToDictionary(p => p.alias, p => p.Name);

    /// <summary>The architectures whose selection trains nested prefixes (<see cref="MatryoshkaWidths"/>), in listing order.</summary>
    public static IReadOnlyList<string> MatryoshkaArchitectures { get; } =
        [.. ArchitectureRegistry.All.Where(a => a.SupportsMatryoshka).Select(a => a.Name)];

    /// <summary>The architecture's strategy (throws for an unknown name).</summary>
    internal global::SaeGpu.Architectures.Architecture Strategy => ArchitectureRegistry.Get(Architecture);

    /// <summary>Value equality, comparing <see cref="MatryoshkaWidths"/> element by element.</summary>
    public bool Equals(SaeConfig? other) =>
        other is not null && (InputDim, Latents, K, Architecture) == (other.InputDim, other.Latents, other.K, other.Architecture)
        && (MatryoshkaWidths ?? []).SequenceEqual(other.MatryoshkaWidths ?? []) && IsMatryoshka == other.IsMatryoshka;

    /// <summary>Hash consistent with <see cref="Equals(SaeConfig?)"/>.</summary>
    public override int GetHashCode() => HashCode.Combine(InputDim, Latents, K, Architecture, MatryoshkaWidths?.Count ?? -1);

    /// <summary>
    /// True when training needs, with each batch x [B, d], the gradients ∂L/∂x [B, d] of a downstream loss (g-SAE's selection;
    /// pass them to <see cref="Trainer.Step(ReadOnlySpan{float}, ReadOnlySpan{float})"/>).
    /// </summary>
    public bool NeedsDownstreamGradients => Strategy.NeedsDownstreamGradients;

    /// <summary>True when <see cref="MatryoshkaWidths"/> is set.</summary>
    public bool IsMatryoshka => MatryoshkaWidths is not null;

    /// <summary>Display name: the architecture's CLI name, prefixed with "matryoshka-" for a Matryoshka SAE.</summary>
    public string Name => IsMatryoshka ? "matryoshka-" + Architecture : Architecture;

    /// <summary>
    /// The paper's Gemma group fractions [1/32, 1/16, 1/8, 1/4, rest] (§4.3) as nested sizes for F latents: cumulative
    /// int(f·F) for all but the last group, the last = F. Duplicate sizes (tiny F) are dropped.
    /// </summary>
    public static int[] DefaultMatryoshkaWidths(int latents)
    {
        double[] fractions = [1 / 32.0, 1 / 16.0, 1 / 8.0, 1 / 4.0];
        var widths = new List<int>();
        int sum = 0;
        foreach (double f in fractions)
        {
            sum += (int)(f * latents);
            if (sum > 0 && (widths.Count == 0 || sum > widths[^1]) && sum < latents) widths.Add(sum);
        }
        widths.Add(latents);
        return [.. widths];
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public SaeConfig Validate()
    {
        if (InputDim < 1) throw new ArgumentException($"SaeConfig.InputDim must be ≥ 1, got {InputDim}.");
        if (Latents < 1) throw new ArgumentException($"SaeConfig.Latents must be ≥ 1, got {Latents}.");
        if (K < 1 || K > Latents) throw new ArgumentException($"SaeConfig.K must be in [1, Latents = {Latents}], got {K}.");
        if (ArchitectureRegistry.Find(Architecture) is null)
            throw new ArgumentException($"SaeConfig.Architecture: unknown architecture '{Architecture}'; expected one of: {string.Join(", ", Architectures)}.");
        if ((long)Latents * InputDim > int.MaxValue)
            throw new ArgumentException($"SaeConfig: Latents·InputDim = {(long)Latents * InputDim} exceeds {int.MaxValue} elements.");
        if (MatryoshkaWidths is { } m) ValidateWidths(m);
        return this;
    }

    private void ValidateWidths(IReadOnlyList<int> m)
    {
        if (!Strategy.SupportsMatryoshka)
            throw new ArgumentException($"SaeConfig.MatryoshkaWidths work with {string.Join(", ", MatryoshkaArchitectures)} selection, not {Architecture}.");
        if (m.Count == 0 || m[^1] != Latents)
            throw new ArgumentException($"SaeConfig.MatryoshkaWidths must end with Latents = {Latents}, got [{string.Join(", ", m)}].");
        for (int i = 0; i < m.Count; i++)
            if (m[i] < 1 || (i > 0 && m[i] <= m[i - 1]))
                throw new ArgumentException($"SaeConfig.MatryoshkaWidths must be strictly increasing positive sizes, got [{string.Join(", ", m)}].");
    }
}
