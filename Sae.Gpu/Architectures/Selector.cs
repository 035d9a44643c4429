using SaeGpu.Compute;

namespace SaeGpu.Architectures;

/// <summary>
/// An architecture's inference selection for batches of <see cref="Rows"/> rows of one SAE: it turns pre [B, F]
/// (and x [B, d] where the rule needs it) into CSR <see cref="SparseCodes"/>, or encodes and selects in one fused op.
/// Owns its scratch tensors: dispose it.
/// </summary>
internal abstract class Selector(SparseAutoencoder sae, int rows) : IDisposable
{
    /// <summary>The SAE whose weights the selection reads.</summary>
    protected SparseAutoencoder Sae { get; } = sae;

    /// <summary>The SAE's backend.</summary>
    protected Backend Backend => Sae.Backend;

    /// <summary>Rows B per batch.</summary>
    public int Rows { get; } = rows;

    /// <summary>Entries the selection can produce for a batch (sizes the codes): B·k for per-token rules, B·F for thresholds.</summary>
    public abstract long Capacity { get; }

    /// <summary>True when <see cref="EncodeAndSelect"/> encodes and selects without holding pre [B, F].</summary>
    public virtual bool Fused => false;

    /// <summary>Encodes x [B, d] and selects in one op; only when <see cref="Fused"/>.</summary>
    public virtual void EncodeAndSelect(Tensor<float> x, SparseCodes codes) =>
        throw new InvalidOperationException($"{GetType().Name} selects from the whole pre [B, F]; encode first.");

    /// <summary>Selects from pre [B, F] = (x − b_dec)·W_encᵀ + b_enc of x [B, d] into <paramref name="codes"/>.</summary>
    public abstract void Select(Tensor<float> pre, Tensor<float> x, SparseCodes codes);

    /// <summary>
    /// Encodes x [B, d] into <paramref name="codes"/> with this rule: fused when possible, else through
    /// <paramref name="pre"/> [B, F] (required then).
    /// </summary>
    public void Encode(Tensor<float> x, Tensor<float>? pre, SparseCodes codes)
    {
        if (Fused)
        {
            EncodeAndSelect(x, codes);
            return;
        }
        ArgumentNullException.ThrowIfNull(pre);
        Backend.Encode(x, Sae.BDec, Sae.WEnc, Sae.BEnc, pre);
        Select(pre, x, codes);
    }

    /// <summary>Frees the scratch tensors.</summary>
    public virtual void Dispose() { }
}

/// <summary>
/// Per-token TopK of pre [B, F] (<c>Backend.TopK</c>; fused with the encode as <c>Backend.EncodeTopK</c>): the k
/// largest positive pre, or with <paramref name="absolute"/> the k largest |pre| with their signs; with
/// <paramref name="adaptive"/> (top-AFA) each row keeps the k* ≤ k whose code norm best matches ‖x − b_dec‖. The
/// paper's code norm weighs each candidate by its decoder row's norm, √Σ(r_j‖d_j‖)²; the selection kernels take unit rows,
/// so the target is divided by ρ = √(mean_j ‖d_j‖²) instead — exact when the rows share one norm, as they do in training
/// (normalized every step) and after <c>--normalize</c> folds its scale s into the weights (every row 1/s); ours.
/// </summary>
internal sealed class TopKSelector(SparseAutoencoder sae, int rows, bool absolute = false, bool adaptive = false) : Selector(sae, rows)
{
    private readonly Tensor<float>? norms = adaptive ? sae.Backend.Allocate<float>(rows) : null;
    private readonly Tensor<float>? rowNorms = adaptive ? sae.Backend.Allocate<float>(sae.Config.Latents) : null;
    private readonly Tensor<float>? origin = adaptive ? sae.Backend.Allocate<float>(sae.Config.InputDim) : null;
    private readonly float[] rowNormsHost = adaptive ? new float[sae.Config.Latents] : [], normsHost = adaptive ? new float[rows] : [];

    /// <summary>top-AFA's per-row targets ‖x − b_dec‖/ρ [B] of the last selection; null otherwise.</summary>
    public Tensor<float>? TargetNorms => norms;

    /// <inheritdoc />
    public override long Capacity => (long)Rows * Sae.Config.K;

    /// <inheritdoc />
    public override bool Fused => true;

    /// <inheritdoc />
    public override void EncodeAndSelect(Tensor<float> x, SparseCodes codes)
    {
        Targets(x);
        Backend.EncodeTopK(x, Sae.BDec, Sae.WEnc, Sae.BEnc, null, Sae.Config.K, absolute, norms, codes);
    }

    /// <inheritdoc />
    public override void Select(Tensor<float> pre, Tensor<float> x, SparseCodes codes)
    {
        Targets(x);
        Backend.TopK(pre, Sae.Config.K, absolute, norms, codes);
    }

    // top-AFA: norms [B] = ‖x − b_dec‖ / ρ, ρ = √(mean_j ‖d_j‖²) (left as is when ρ rounds to 1, as in training).
    private void Targets(Tensor<float> x)
    {
        if (norms is null) return;
        Backend.RowNorm(x, Sae.BDec, norms);
        Backend.RowNorm(Sae.WDec, origin!, rowNorms!);
        Backend.Download(rowNorms!, rowNormsHost);
        double sum = 0;
        foreach (float v in rowNormsHost) sum += (double)v * v;
        double rho = Math.Sqrt(sum / rowNormsHost.Length);
        if (Math.Abs(rho - 1) < 1e-5 || !(rho > 0)) return;
        Backend.Download(norms, normsHost);
        for (int b = 0; b < normsHost.Length; b++) normsHost[b] = (float)(normsHost[b] / rho);
        Backend.Upload<float>(normsHost, norms);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        norms?.Dispose();
        rowNorms?.Dispose();
        origin?.Dispose();
    }
}

/// <summary>
/// Keeps every pre [B, F] &gt; max(0, θ_j), rows in latent order (<c>Backend.ThresholdSelect</c>), with θ one of the
/// SAE's latent parameters [F], or 0 (ReLU).
/// </summary>
internal sealed class ThresholdSelector : Selector
{
    private readonly Tensor<float> thresholds;
    private readonly Tensor<float>? zeros;
    private readonly Tensor<int> noCuts;

    /// <summary>Selection above <paramref name="thresholdParameter"/>'s values, or above 0 when null.</summary>
    public ThresholdSelector(SparseAutoencoder sae, int rows, string? thresholdParameter) : base(sae, rows)
    {
        int f = sae.Config.Latents;
        if (thresholdParameter is null) thresholds = zeros = sae.Backend.Allocate<float>(f);
        else thresholds = sae.Parameter(thresholdParameter);
        noCuts = sae.Backend.FromHost<int>(Enumerable.Repeat(-1, f).ToArray());
    }

    /// <inheritdoc />
    public override long Capacity => (long)Rows * Sae.Config.Latents;

    /// <inheritdoc />
    public override void Select(Tensor<float> pre, Tensor<float> x, SparseCodes codes) => Backend.ThresholdSelect(pre, thresholds, noCuts, codes);

    /// <inheritdoc />
    public override void Dispose()
    {
        zeros?.Dispose();
        noCuts.Dispose();
    }
}
