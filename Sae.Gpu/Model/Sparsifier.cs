using SaeGpu.Compute;

namespace SaeGpu.Model;

/// <summary>
/// The selection step of an SAE's architecture: turns pre [B, F] (and, for top-AFA, x [B, d]) into CSR sparse codes,
/// for training (batch-level budgets) or inference (per-token rules using the SAE's learned thresholds). Owns small
/// scratch tensors for one batch size: dispose it.
/// </summary>
public sealed class Sparsifier : IDisposable
{
    private readonly Sae sae;
    private readonly Backend be;
    private readonly Tensor<float> thresholds, zeros, norms;
    private readonly Tensor<int> cuts, noCuts;
    private Tensor<float>? proj, zeroD;

    /// <summary>Selection for batches of <paramref name="rows"/> rows of <paramref name="sae"/>.</summary>
    public Sparsifier(Sae sae, int rows)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        this.sae = sae;
        be = sae.Backend;
        Rows = rows;
        int f = sae.Config.Latents;
        (thresholds, zeros, norms) = (be.Allocate<float>(f), be.Allocate<float>(f), be.Allocate<float>(rows));
        (cuts, noCuts) = (be.Allocate<int>(f), be.FromHost<int>(Enumerable.Repeat(-1, f).ToArray()));
    }

    /// <summary>Rows per batch.</summary>
    public int Rows { get; }

    /// <summary>
    /// Per-latent thresholds of the last training selection [F] (BatchTopK / Mutual Choice: τ, the batch's k·B-th value,
    /// everywhere; Feature Choice: each latent's m-th value, 0 when it had fewer than m positive entries).
    /// </summary>
    public Tensor<float> BatchThresholds => thresholds;

    /// <summary>top-AFA's per-row targets ‖x − b_dec‖ [B] of the last selection.</summary>
    public Tensor<float> TargetNorms => norms;

    /// <summary>Feature Choice's per-latent budget m = max(1, round(k·B/F)) tokens per batch.</summary>
    public int FeatureChoiceBudget => Math.Max(1, (int)Math.Round((double)sae.Config.K * Rows / sae.Config.Latents));

    /// <summary>Entries the training selection can produce (sizes the codes).</summary>
    public long TrainingCapacity => sae.Config.Architecture switch
    {
        Architecture.FeatureChoice => (long)Math.Min(Rows, FeatureChoiceBudget) * sae.Config.Latents,
        _ => InferenceCapacity,
    };

    /// <summary>Entries the inference selection can produce: B·k for per-token rules, B·F for threshold rules.</summary>
    public long InferenceCapacity => sae.Config.Architecture switch
    {
        Architecture.TopK or Architecture.AbsTopK or Architecture.TopAfa or Architecture.GSae or Architecture.VSae => (long)Rows * sae.Config.K,
        _ => (long)Rows * sae.Config.Latents,
    };

    /// <summary>
    /// True when the inference rule is per-token TopK of pre (TopK, AbsTopK, top-AFA, g-SAE, vSAE), so
    /// <see cref="EncodeAndSelect"/> can encode and select without pre [B, F].
    /// </summary>
    public bool FusesInference => sae.Config.Architecture is Architecture.TopK or Architecture.AbsTopK or Architecture.TopAfa
        or Architecture.GSae or Architecture.VSae;

    /// <summary>True when the training selection is the inference rule's fused TopK (all of <see cref="FusesInference"/> but g-SAE, which selects by a gradient score).</summary>
    public bool FusesTraining => FusesInference && sae.Config.Architecture != Architecture.GSae;

    /// <summary>
    /// Encode and the per-token inference selection in one <see cref="Backend.EncodeTopK"/> (top-AFA: with the targets
    /// ‖x − b_dec‖ from <see cref="Backend.RowNorm"/>); the same codes as <see cref="Backend.Encode"/> then
    /// <see cref="SelectForInference"/>. Requires <see cref="FusesInference"/>.
    /// </summary>
    public void EncodeAndSelect(Tensor<float> x, SparseCodes codes)
    {
        if (!FusesInference) throw new InvalidOperationException($"{sae.Config.Architecture} selects from the whole pre [B, F]; encode first.");
        var arch = sae.Config.Architecture;
        if (arch == Architecture.TopAfa) be.RowNorm(x, sae.BDec, norms);
        be.EncodeTopK(x, sae.BDec, sae.WEnc, sae.BEnc, null, sae.Config.K, arch == Architecture.AbsTopK,
            arch == Architecture.TopAfa ? norms : null, codes);
    }

    /// <summary>
    /// Training selection into <paramref name="codes"/>: batch-level budgets for BatchTopK, Mutual and Feature Choice; for
    /// g-SAE the score z·(1 + β·|g·W_decᵀ|) from the downstream <paramref name="gradients"/> [B, d] (required) chooses,
    /// the values stay z.
    /// </summary>
    public void SelectForTraining(Tensor<float> pre, Tensor<float> x, SparseCodes codes, Tensor<float>? gradients = null, float beta = 0)
    {
        switch (sae.Config.Architecture)
        {
            case Architecture.GSae:
                SelectByGradientScore(pre, gradients ?? throw new ArgumentException("g-SAE training needs the downstream gradients [B, d] of each batch."), beta, codes);
                break;
            case Architecture.BatchTopK or Architecture.MutualChoice:
                be.BatchTopKThreshold(pre, sae.Config.K * Rows, thresholds, cuts);
                be.ThresholdSelect(pre, thresholds, cuts, codes);
                break;
            case Architecture.FeatureChoice:
                be.ColumnTopKThreshold(pre, FeatureChoiceBudget, thresholds, cuts);
                be.ThresholdSelect(pre, thresholds, cuts, codes);
                break;
            default:
                SelectForInference(pre, x, codes);
                break;
        }
    }

    /// <summary>
    /// Inference selection (one token needs no batch): TopK/AbsTopK/top-AFA per token; BatchTopK, Mutual and Feature
    /// Choice and JumpReLU keep pre &gt; <see cref="Sae.Thresholds"/>; ReLU and GBA keep pre &gt; 0.
    /// </summary>
    public void SelectForInference(Tensor<float> pre, Tensor<float> x, SparseCodes codes)
    {
        switch (sae.Config.Architecture)
        {
            case Architecture.TopK or Architecture.GSae or Architecture.VSae:
                be.TopK(pre, sae.Config.K, false, null, codes);
                break;
            case Architecture.AbsTopK:
                be.TopK(pre, sae.Config.K, true, null, codes);
                break;
            case Architecture.TopAfa:
                be.RowNorm(x, sae.BDec, norms);
                be.TopK(pre, sae.Config.K, false, norms, codes);
                break;
            case Architecture.Relu or Architecture.Gba:
                be.ThresholdSelect(pre, zeros, noCuts, codes);
                break;
            default:
                be.ThresholdSelect(pre, sae.Thresholds, noCuts, codes);
                break;
        }
    }

    // proj = g·W_decᵀ is the Encode GEMM with zero biases, then overwritten in place by the score (element-wise); TopK
    // picks by score; the values are then z = pre at the picks.
    private void SelectByGradientScore(Tensor<float> pre, Tensor<float> gradients, float beta, SparseCodes codes)
    {
        proj ??= be.Allocate<float>(pre.Length);
        zeroD ??= be.Allocate<float>(sae.Config.InputDim);
        be.Encode(gradients, zeroD, sae.WDec, zeros, proj);
        be.GradientScore(pre, proj, beta, proj);
        be.TopK(proj, sae.Config.K, false, null, codes);
        be.GatherCodes(codes, pre);
    }

    /// <summary>Frees the scratch tensors.</summary>
    public void Dispose()
    {
        proj?.Dispose();
        zeroD?.Dispose();
        foreach (var t in new[] { thresholds, zeros, norms }) t.Dispose();
        cuts.Dispose();
        noCuts.Dispose();
    }
}
