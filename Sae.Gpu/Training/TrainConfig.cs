namespace SaeGpu.Training;

/// <summary>Auxiliary loss for dead or under-used latents.</summary>
public enum AuxLossKind
{
    /// <summary>No auxiliary loss.</summary>
    None,

    /// <summary>
    /// AuxK (Gao et al.): the top-k_aux dead latents reconstruct the detached residual e = x − x̂;
    /// L_aux = Σ‖e − ê‖² / Σ‖e − ē‖², added with coefficient α.
    /// </summary>
    AuxK,

    /// <summary>
    /// aux_zipf (arXiv 2411.02124 names it as AuxK generalised to dead and under-used latents; its formula is not in the
    /// text we could read, so this rule is ours): latents are ranked by an EMA of their firing frequency, a Zipf law
    /// f_r = C·r^−s is fitted (least squares in log–log over the top half of ranks), and the AuxK term runs over the latents
    /// that are dead or fire at less than a quarter of their rank's Zipf frequency.
    /// </summary>
    AuxZipf,
}

/// <summary>Training hyper-parameters. Null learning rate means <see cref="DefaultLearningRate"/> for the SAE's F.</summary>
/// <param name="BatchSize">Rows B per step.</param>
/// <param name="Steps">Number of optimizer steps.</param>
/// <param name="LearningRate">Peak Adam learning rate; null → 2e-4 / √(F / 16384) (sparsify's scaling).</param>
/// <param name="WarmupSteps">Linear warm-up length; null → min(1000, Steps / 20).</param>
/// <param name="DecayFraction">Final fraction of steps over which the rate decays linearly to 0.</param>
/// <param name="Beta1">Adam β1.</param>
/// <param name="Beta2">Adam β2.</param>
/// <param name="Epsilon">Adam ε.</param>
/// <param name="DeadAfterTokens">A latent is dead when it has not fired for this many tokens.</param>
/// <param name="Seed">Seed of the weight initialization.</param>
/// <param name="AuxLoss">Auxiliary loss for dead (AuxK) or dead and under-used (aux_zipf) latents.</param>
/// <param name="AuxK">k_aux; null → d/2 (dictionary_learning's choice).</param>
/// <param name="AuxCoefficient">α of the auxiliary loss (Gao et al.: 1/32).</param>
/// <param name="L1Coefficient">Initial λ of ReLU's L1 penalty λ/B · Σ a_j‖d_j‖; a controller then steers L0 to k.</param>
/// <param name="L0Coefficient">Initial λ of JumpReLU's L0 penalty λ/B · Σ H(pre − θ); steered like L1Coefficient.</param>
/// <param name="SparsityControlRate">Per-step multiplicative rate r of the controller: λ ← λ·exp(r·clamp(L0/k − 1, −1, 1)).</param>
/// <param name="JumpReluBandwidth">ε of the straight-through rectangle kernel (ours: 0.05 for unnormalized inputs).</param>
/// <param name="JumpReluInitialThreshold">Initial θ of every latent.</param>
/// <param name="AfaCoefficient">λ_AFA of top-AFA's optional loss λ·mean_b(‖a_b‖ − ‖x_b − b_dec‖)² (0 = off).</param>
/// <param name="GbaGroups">GBA: number of latent groups K.</param>
/// <param name="GbaInterval">GBA: optimizer steps between bias updates, the buffer spanning them (50, the schedule in the paper's summaries; short runs want fewer).</param>
/// <param name="GbaHighFrequency">GBA: target frequency of the first group; null → chosen so the targets' mean L0 is k.</param>
/// <param name="GbaFrequencyRatio">GBA: ratio of the first to the last group's target frequency (geometric in between).</param>
/// <param name="GbaGamma">GBA: step γ of the bias updates.</param>
/// <param name="GbaEpsilon">GBA: a latent firing less often than this is revived.</param>
/// <param name="ThresholdEma">Decay of the EMA that estimates inference thresholds (BatchTopK, Mutual/Feature Choice).</param>
/// <param name="PrefixWeights">
/// Matryoshka: weight w_i of each prefix's element-MSE in L = Σ_i w_i·MSE_i, one per <see cref="Model.SaeConfig.MatryoshkaWidths"/>
/// entry; null → equal weights 1/n (the dictionary_learning code's mean over prefixes).
/// </param>
/// <param name="RandomPrefixes">
/// Matryoshka: 0 trains the fixed widths; n ≥ 2 samples n prefix sizes every step instead — n − 1 distinct sizes in
/// [<see cref="MinPrefix"/>, F − 1] with P(m) ∝ √(m − m0 + 1) − √(m − m0) (the truncated Pareto(0.5) of the noanabeshima
/// toy code) plus F — weighted equally.
/// </param>
/// <param name="MinPrefix">Matryoshka: smallest size m0 the random prefixes draw.</param>
/// <param name="GradientBeta">g-SAE: β of the selection score z·(1 + β·|d_j·g|) (the paper's value was not available; ours).</param>
/// <param name="PosteriorSigma">vSAE: fixed standard deviation σ of the Gaussian posterior N(μ, σ²) (1, the paper's fixed unit variance).</param>
/// <param name="KlWeight">
/// vSAE: weight λ of KL(N(μ, σ²) ‖ N(0, 1)) summed over each token's kept latents, on the scale where λ = 1 is the
/// evidence lower bound with unit observation variance: loss = MSE + λ·2/(B·d)·Σ_b Σ_j ½(μ² + σ² − 1 − ln σ²) (ours).
/// </param>
public sealed record TrainConfig(
    int BatchSize = 1024,
    int Steps = 1000,
    double? LearningRate = null,
    int? WarmupSteps = null,
    double DecayFraction = 0.2,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Epsilon = 1e-8,
    long DeadAfterTokens = 10_000_000,
    int Seed = 0,
    AuxLossKind AuxLoss = AuxLossKind.AuxK,
    int? AuxK = null,
    double AuxCoefficient = 1.0 / 32,
    double L1Coefficient = 1e-5,
    double L0Coefficient = 1e-4,
    double SparsityControlRate = 0.02,
    double JumpReluBandwidth = 0.05,
    double JumpReluInitialThreshold = 0.1,
    double AfaCoefficient = 0,
    int GbaGroups = 10,
    int GbaInterval = 50,
    double? GbaHighFrequency = null,
    double GbaFrequencyRatio = 100,
    double GbaGamma = 0.01,
    double GbaEpsilon = 1e-6,
    double ThresholdEma = 0.99,
    IReadOnlyList<double>? PrefixWeights = null,
    int RandomPrefixes = 0,
    int MinPrefix = 1,
    double GradientBeta = 1.0,
    double PosteriorSigma = 1.0,
    double KlWeight = 1.0)
{
    /// <summary>2e-4 / √(F / 16384): the peak rate used when <see cref="LearningRate"/> is null.</summary>
    public static double DefaultLearningRate(int latents) => 2e-4 / Math.Sqrt(latents / 16384.0);

    /// <summary>Warm-up steps in effect.</summary>
    public int EffectiveWarmup => WarmupSteps ?? Math.Min(1000, Steps / 20);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public TrainConfig Validate()
    {
        if (BatchSize < 1) throw new ArgumentException($"TrainConfig.BatchSize must be ≥ 1, got {BatchSize}.");
        if (Steps < 1) throw new ArgumentException($"TrainConfig.Steps must be ≥ 1, got {Steps}.");
        if (LearningRate is { } lr && !(lr > 0 && double.IsFinite(lr)))
            throw new ArgumentException($"TrainConfig.LearningRate must be a positive finite number, got {lr}.");
        if (WarmupSteps is < 0) throw new ArgumentException($"TrainConfig.WarmupSteps must be ≥ 0, got {WarmupSteps}.");
        if (!(DecayFraction >= 0 && DecayFraction <= 1)) throw new ArgumentException($"TrainConfig.DecayFraction must be in [0, 1], got {DecayFraction}.");
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentException($"TrainConfig.Beta1 must be in [0, 1), got {Beta1}.");
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"TrainConfig.Beta2 must be in [0, 1), got {Beta2}.");
        if (!(Epsilon > 0)) throw new ArgumentException($"TrainConfig.Epsilon must be > 0, got {Epsilon}.");
        if (DeadAfterTokens < 1) throw new ArgumentException($"TrainConfig.DeadAfterTokens must be ≥ 1, got {DeadAfterTokens}.");
        if (!Enum.IsDefined(AuxLoss)) throw new ArgumentException($"TrainConfig.AuxLoss {(int)AuxLoss} is not defined.");
        if (AuxK is < 1) throw new ArgumentException($"TrainConfig.AuxK must be ≥ 1, got {AuxK}.");
        if (!(AuxCoefficient >= 0)) throw new ArgumentException($"TrainConfig.AuxCoefficient must be ≥ 0, got {AuxCoefficient}.");
        if (!(L1Coefficient >= 0)) throw new ArgumentException($"TrainConfig.L1Coefficient must be ≥ 0, got {L1Coefficient}.");
        if (!(L0Coefficient >= 0)) throw new ArgumentException($"TrainConfig.L0Coefficient must be ≥ 0, got {L0Coefficient}.");
        if (!(SparsityControlRate >= 0)) throw new ArgumentException($"TrainConfig.SparsityControlRate must be ≥ 0, got {SparsityControlRate}.");
        if (!(JumpReluBandwidth > 0)) throw new ArgumentException($"TrainConfig.JumpReluBandwidth must be > 0, got {JumpReluBandwidth}.");
        if (!(JumpReluInitialThreshold >= 0)) throw new ArgumentException($"TrainConfig.JumpReluInitialThreshold must be ≥ 0, got {JumpReluInitialThreshold}.");
        if (!(AfaCoefficient >= 0)) throw new ArgumentException($"TrainConfig.AfaCoefficient must be ≥ 0, got {AfaCoefficient}.");
        if (GbaGroups < 1) throw new ArgumentException($"TrainConfig.GbaGroups must be ≥ 1, got {GbaGroups}.");
        if (GbaInterval < 1) throw new ArgumentException($"TrainConfig.GbaInterval must be ≥ 1, got {GbaInterval}.");
        if (GbaHighFrequency is { } h && !(h > 0 && h <= 1)) throw new ArgumentException($"TrainConfig.GbaHighFrequency must be in (0, 1], got {h}.");
        if (!(GbaFrequencyRatio >= 1)) throw new ArgumentException($"TrainConfig.GbaFrequencyRatio must be ≥ 1, got {GbaFrequencyRatio}.");
        if (!(GbaGamma > 0)) throw new ArgumentException($"TrainConfig.GbaGamma must be > 0, got {GbaGamma}.");
        if (!(GbaEpsilon >= 0)) throw new ArgumentException($"TrainConfig.GbaEpsilon must be ≥ 0, got {GbaEpsilon}.");
        if (!(ThresholdEma >= 0 && ThresholdEma < 1)) throw new ArgumentException($"TrainConfig.ThresholdEma must be in [0, 1), got {ThresholdEma}.");
        if (PrefixWeights is { } pw && (pw.Count == 0 || pw.Any(v => !(v >= 0 && double.IsFinite(v))) || !(pw.Sum() > 0)))
            throw new ArgumentException($"TrainConfig.PrefixWeights must be non-negative finite numbers with a positive sum, got [{string.Join(", ", pw)}].");
        if (RandomPrefixes is < 0 or 1) throw new ArgumentException($"TrainConfig.RandomPrefixes must be 0 (fixed widths) or ≥ 2, got {RandomPrefixes}.");
        if (MinPrefix < 1) throw new ArgumentException($"TrainConfig.MinPrefix must be ≥ 1, got {MinPrefix}.");
        if (!(GradientBeta >= 0 && double.IsFinite(GradientBeta))) throw new ArgumentException($"TrainConfig.GradientBeta must be ≥ 0, got {GradientBeta}.");
        if (!(PosteriorSigma >= 0 && double.IsFinite(PosteriorSigma))) throw new ArgumentException($"TrainConfig.PosteriorSigma must be ≥ 0, got {PosteriorSigma}.");
        if (!(KlWeight >= 0 && double.IsFinite(KlWeight))) throw new ArgumentException($"TrainConfig.KlWeight must be ≥ 0, got {KlWeight}.");
        return this;
    }

    /// <summary>
    /// <see cref="Validate()"/>, then the checks that depend on the SAE: Matryoshka options need Matryoshka widths, one
    /// prefix weight per width, and room for the random prefix sizes.
    /// </summary>
    public TrainConfig Validate(Model.SaeConfig model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Validate();
        if (model.MatryoshkaWidths is not { } widths)
        {
            if (RandomPrefixes > 0 || PrefixWeights is not null)
                throw new ArgumentException("TrainConfig.RandomPrefixes and PrefixWeights need a Matryoshka SAE (SaeConfig.MatryoshkaWidths).");
            return this;
        }
        if (RandomPrefixes == 0 && PrefixWeights is { } w && w.Count != widths.Count)
            throw new ArgumentException($"TrainConfig.PrefixWeights has {w.Count} values; the SAE has {widths.Count} Matryoshka widths.");
        if (RandomPrefixes > 0 && RandomPrefixes - 1 > model.Latents - MinPrefix)
            throw new ArgumentException($"TrainConfig.RandomPrefixes = {RandomPrefixes} needs {RandomPrefixes - 1} distinct sizes in [MinPrefix = {MinPrefix}, F − 1 = {model.Latents - 1}].");
        return this;
    }

    /// <summary>
    /// Learning rate at 0-based <paramref name="step"/>: <c>peak · min(1, (step+1)/warmup)</c>, times a linear decay to 0
    /// over the last <see cref="DecayFraction"/> of the steps.
    /// </summary>
    public double LearningRateAt(int step, int latents)
    {
        double peak = LearningRate ?? DefaultLearningRate(latents);
        int warm = EffectiveWarmup;
        double w = warm > 0 ? Math.Min(1.0, (step + 1.0) / warm) : 1.0;
        double decayStart = Steps * (1 - DecayFraction);
        double dec = step < decayStart ? 1.0 : Math.Max(0.0, (Steps - step) / (Steps - decayStart));
        return peak * w * dec;
    }
}
