using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// Feature Choice (arXiv 2411.02124): in training each latent j takes its top m_j tokens of the batch
/// (<see cref="Backend.ColumnTopKThreshold"/>), so tokens receive a variable number of latents; inference keeps pre above
/// each latent's learned threshold. The capacities follow a Zipf law over the latent index, m_j ∝ (j + 1)^−α
/// (<c>zipf-alpha</c>), each in [1, B], summing to the budget k·B (<see cref="ZipfBudgets"/>). The paper says a Zipf
/// distribution sets the per-feature constraints but its text with the formula could not be read here, so the law over the
/// index (latents are exchangeable at initialization, so a fixed order loses nothing), the floor of 1 and the default
/// α = 0.5 are ours — α = 0.5 gave the lowest FVU and nearly the best recovery of α ∈ {0, 0.5, 1} on <c>sae compare</c>'s
/// data (three seeds, docs/experiments/compare.md); α = 0 gives every latent the same m = k·B/F.
/// </summary>
internal sealed class FeatureChoiceArchitecture : BatchBudgetArchitecture
{
    /// <inheritdoc />
    public override string Name => "feature-choice";

    /// <inheritdoc />
    public override int Order => 50;

    /// <inheritdoc />
    public override int TrainingBatchMatrices => 2;

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options { get; } =
    [
        .. BaseOptions,
        ArchitectureOption.NonNegative("zipf-alpha", 0.5, "exponent α of the Zipf law m_j ∝ (j+1)^-α of the per-latent token capacities (0 = equal)"),
    ];

    /// <summary>
    /// Capacities m [F] (m_j for latent j) for a batch of <paramref name="rows"/> rows: m_j = clamp(⌊λ·(j+1)^−α⌋, 1, rows) with
    /// the largest λ whose sum stays within the budget k·rows (clamped to [F, F·rows]), then one more token for the first
    /// latents below the cap until the sum is exactly that budget. Non-increasing in j.
    /// </summary>
    public static int[] ZipfBudgets(int latents, int k, int rows, double alpha)
    {
        long total = Math.Clamp((long)k * rows, latents, (long)latents * rows);
        var weight = Enumerable.Range(1, latents).Select(r => Math.Pow(r, -alpha)).ToArray();
        var m = new int[latents];
        long Fill(double lambda)
        {
            long sum = 0;
            for (int j = 0; j < latents; j++) sum += m[j] = (int)Math.Clamp(Math.Floor(lambda * weight[j]), 1, rows);
            return sum;
        }
        double lo = 0, hi = (double)rows / weight[^1] + 1;
        for (int i = 0; i < 100; i++)
        {
            double mid = (lo + hi) / 2;
            if (Fill(mid) <= total) lo = mid; else hi = mid;
        }
        long left = total - Fill(lo);
        for (int j = 0; j < latents && left > 0; j++)
            if (m[j] < rows) { m[j]++; left--; }
        return m;
    }

    /// <inheritdoc />
    protected override long TrainingCapacity(SaeConfig config, int rows) => Math.Clamp((long)config.K * rows, config.Latents, (long)config.Latents * rows);

    /// <inheritdoc />
    protected override int[] Budgets(Trainer trainer) =>
        ZipfBudgets(trainer.Sae.Config.Latents, trainer.Sae.Config.K, trainer.BatchSize, trainer.Option("zipf-alpha"));

    /// <inheritdoc />
    protected override void BatchThresholds(SparseAutoencoder sae, Tensor<float> pre, int rows, Tensor<int>? budgets, Tensor<float> thresholds, Tensor<int> cuts) =>
        sae.Backend.ColumnTopKThreshold(pre, budgets!, thresholds, cuts);
}
