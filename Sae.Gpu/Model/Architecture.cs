namespace SaeGpu.Model;

/// <summary>How the sparse code is chosen. Every architecture writes the same CSR <see cref="Compute.SparseCodes"/>.</summary>
public enum Architecture
{
    /// <summary>Per token, the k largest of ReLU(pre) (Gao et al., arXiv 2406.04093).</summary>
    TopK,

    /// <summary>Per token, the k largest |pre| with their signs, no ReLU (arXiv 2510.00404).</summary>
    AbsTopK,

    /// <summary>The k·B largest positive entries of the whole [B, F] batch (Bussmann et al.); inference uses a learned global threshold.</summary>
    BatchTopK,

    /// <summary>
    /// Mutual Choice (arXiv 2411.02124): the total budget k·B allocated freely between tokens and features — the same
    /// selection as <see cref="BatchTopK"/> (the paper's abstract defines no other constraint; our reading, documented).
    /// </summary>
    MutualChoice,

    /// <summary>Feature Choice (arXiv 2411.02124): each latent takes its top m = k·B/F tokens of the batch; inference uses per-latent thresholds.</summary>
    FeatureChoice,

    /// <summary>ReLU(pre) with an L1 penalty weighted by decoder row norms.</summary>
    Relu,

    /// <summary>JumpReLU: pre kept where pre &gt; θ_j, thresholds trained with the straight-through estimator (arXiv 2407.14435).</summary>
    JumpRelu,

    /// <summary>top-AFA (arXiv 2503.24277): per token, the count whose code norm best matches ‖x − b_dec‖, at most k.</summary>
    TopAfa,

    /// <summary>Group bias adaptation (arXiv 2506.14002): ReLU codes, encoder biases set from observed vs target firing frequencies.</summary>
    Gba,

    /// <summary>
    /// g-SAE (arXiv 2411.10397): in training, the k latents with the largest z·(1 + β·|d_j·g|), z = ReLU(pre), g the
    /// downstream loss gradient w.r.t. the input, keeping the values z; inference is TopK on z.
    /// </summary>
    GSae,

    /// <summary>
    /// vSAE (arXiv 2509.22994): TopK on μ = ReLU(pre); in training the kept codes are sampled ã = μ + σ·ξ (ξ ~ N(0, 1)) and
    /// a KL term toward N(0, 1) is added; inference uses μ.
    /// </summary>
    VSae,
}

/// <summary>Command-line names of the architectures.</summary>
public static class ArchitectureNames
{
    private static readonly (Architecture Arch, string Name)[] Table =
    [
        (Architecture.TopK, "topk"), (Architecture.AbsTopK, "abstopk"), (Architecture.BatchTopK, "batchtopk"),
        (Architecture.MutualChoice, "mutual-choice"), (Architecture.FeatureChoice, "feature-choice"), (Architecture.Relu, "relu"),
        (Architecture.JumpRelu, "jumprelu"), (Architecture.TopAfa, "topafa"), (Architecture.Gba, "gba"), (Architecture.GSae, "gsae"),
        (Architecture.VSae, "vsae"),
    ];

    /// <summary>All names in declaration order.</summary>
    public static IReadOnlyList<string> All { get; } = [.. Table.Select(t => t.Name)];

    /// <summary>The name of <paramref name="arch"/>.</summary>
    public static string Name(this Architecture arch) => Table.First(t => t.Arch == arch).Name;

    /// <summary>Parses a name; throws <see cref="ArgumentException"/> listing the valid ones.</summary>
    public static Architecture Parse(string name) =>
        Table.FirstOrDefault(t => t.Name == name.Trim().ToLowerInvariant()) is { Name: not null } hit
            ? hit.Arch
            : throw new ArgumentException($"Unknown architecture '{name}'; expected one of: {string.Join(", ", All)}.");
}
