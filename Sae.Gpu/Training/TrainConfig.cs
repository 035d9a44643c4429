using SaeGpu.Architectures;
using SaeGpu.Compute;
using SaeGpu.Training;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

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
/// <param name="DeadAfterTokens">
/// A latent is dead when it has not fired for this many tokens (the window); null → <see cref="DefaultDeadAfterTokens"/> of the
/// run, min(10 M, a tenth of the run's tokens), so a run shorter than 10 M tokens can still show dead latents.
/// </param>
/// <param name="Seed">Seed of the weight initialization.</param>
/// <param name="AuxLoss">Auxiliary loss for dead (AuxK) or dead and under-used (aux_zipf) latents.</param>
/// <param name="AuxK">k_aux; null → d/2 (dictionary_learning's choice).</param>
/// <param name="AuxCoefficient">α of the auxiliary loss (Gao et al.: 1/32).</param>
/// <param name="PrefixWeights">
/// Matryoshka: weight w_i of each prefix's element-MSE in L = Σ_i w_i·MSE_i, one per <see cref="SaeConfig.MatryoshkaWidths"/>
/// entry; null → equal weights 1/n (the dictionary_learning code's mean over prefixes).
/// </param>
/// <param name="RandomPrefixes">
/// Matryoshka: 0 trains the fixed widths; n ≥ 2 samples n prefix sizes every step instead — n − 1 distinct sizes in
/// [<see cref="MinPrefix"/>, F − 1] with P(m) ∝ √(m − m0 + 1) − √(m − m0) (the truncated Pareto(0.5) of the noanabeshima
/// toy code) plus F — weighted equally.
/// </param>
/// <param name="MinPrefix">Matryoshka: smallest size m0 the random prefixes draw.</param>
/// <param name="ArchitectureOptions">
/// Hyper-parameters of the SAE's architecture by name (e.g. <c>l1</c> for ReLU, <c>gba-interval</c> for GBA);
/// <see cref="OptionsOf"/> lists each architecture's options with defaults and ranges. Options not given take their defaults;
/// a name the architecture does not have is an error.
/// </param>
/// <param name="InitializeDecoderBias">When true, the first <see cref="Trainer.Step(ReadOnlySpan{float})"/> sets b_dec to its batch's mean.</param>
public sealed record TrainConfig(
    int BatchSize = 1024,
    int Steps = 1000,
    double? LearningRate = null,
    int? WarmupSteps = null,
    double DecayFraction = 0.2,
    double Beta1 = 0.9,
    double Beta2 = 0.999,
    double Epsilon = 1e-8,
    long? DeadAfterTokens = null,
    int Seed = 0,
    AuxLossKind AuxLoss = AuxLossKind.AuxK,
    int? AuxK = null,
    double AuxCoefficient = 1.0 / 32,
    IReadOnlyList<double>? PrefixWeights = null,
    int RandomPrefixes = 0,
    int MinPrefix = 1,
    IReadOnlyDictionary<string, double>? ArchitectureOptions = null,
    bool InitializeDecoderBias = true)
{
    /// <summary>2e-4 / √(F / 16384): the peak rate used when <see cref="LearningRate"/> is null.</summary>
    public static double DefaultLearningRate(int latents) => 2e-4 / Math.Sqrt(latents / 16384.0);

    /// <summary>
    /// The dead-latent window of a run of <paramref name="runTokens"/> tokens when none is given:
    /// <c>min(10 M, max(1, runTokens / 10))</c>. 10 M is sparsify's fixed window; scaling it down for short runs (as
    /// SAELens's window of 1000 steps does) is the point, and the tenth is ours.
    /// </summary>
    public static long DefaultDeadAfterTokens(long runTokens) => Math.Min(10_000_000, Math.Max(1, runTokens / 10));

    /// <summary>The dead-latent window in effect, in tokens: <see cref="DeadAfterTokens"/>, or the default for Steps × BatchSize tokens.</summary>
    public long EffectiveDeadAfterTokens => DeadAfterTokens ?? DefaultDeadAfterTokens((long)Steps * BatchSize);

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
        if (DeadAfterTokens is < 1) throw new ArgumentException($"TrainConfig.DeadAfterTokens must be ≥ 1, got {DeadAfterTokens}.");
        if (!Enum.IsDefined(AuxLoss)) throw new ArgumentException($"TrainConfig.AuxLoss {(int)AuxLoss} is not defined.");
        if (AuxK is < 1) throw new ArgumentException($"TrainConfig.AuxK must be ≥ 1, got {AuxK}.");
        if (!(AuxCoefficient >= 0)) throw new ArgumentException($"TrainConfig.AuxCoefficient must be ≥ 0, got {AuxCoefficient}.");
        if (PrefixWeights is { } pw && (pw.Count == 0 || pw.Any(v => !(v >= 0 && double.IsFinite(v))) || !(pw.Sum() > 0)))
            throw new ArgumentException($"TrainConfig.PrefixWeights must be non-negative finite numbers with a positive sum, got [{string.Join(", ", pw)}].");
        if (RandomPrefixes is < 0 or 1) throw new ArgumentException($"TrainConfig.RandomPrefixes must be 0 (fixed widths) or ≥ 2, got {RandomPrefixes}.");
        if (MinPrefix < 1) throw new ArgumentException($"TrainConfig.MinPrefix must be ≥ 1, got {MinPrefix}.");
        return this;
    }

    /// <summary>
    /// <see cref="Validate()"/>, then the checks that depend on the SAE: every architecture option is one of the architecture's
    /// and in its range; a batch of B rows fits one array (B·max(d, k) values, and B·F for architectures that train with
    /// [B, F] matrices); <see cref="AuxK"/> is at most F; Matryoshka options need Matryoshka widths,
    /// one prefix weight per width, and room for the random prefix sizes.
    /// </summary>
    public TrainConfig Validate(SaeConfig model)
    {
        ArgumentNullException.ThrowIfNull(model);
        Validate();
        model.Validate();
        if ((long)BatchSize * Math.Max(model.InputDim, model.K) > Array.MaxLength)
            throw new ArgumentException($"TrainConfig.BatchSize {BatchSize} × max(d, k) {Math.Max(model.InputDim, model.K)} = " +
                $"{(long)BatchSize * Math.Max(model.InputDim, model.K)} values exceeds the largest array ({Array.MaxLength} values); use a smaller batch.");
        if (AuxK > model.Latents) throw new ArgumentException($"TrainConfig.AuxK = {AuxK} exceeds the SAE's F = {model.Latents} latents.");
        if (model.Strategy.TrainingBatchMatrices > 0 && (long)BatchSize * model.Latents > Array.MaxLength)
            throw new ArgumentException($"TrainConfig.BatchSize {BatchSize} × F {model.Latents} = {(long)BatchSize * model.Latents} values: {model.Architecture} " +
                $"trains with [B, F] matrices, and that exceeds the largest array ({Array.MaxLength} values); use a smaller batch.");
        ValidateOptions(model.Strategy);
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

    /// <summary>The training options of architecture <paramref name="architecture"/> (see <see cref="SaeConfig.Architectures"/>), with defaults and ranges.</summary>
    public static IReadOnlyList<ArchitectureOption> OptionsOf(string architecture) => ArchitectureRegistry.Get(architecture).Options;

    /// <summary>The value of <paramref name="architecture"/>'s option <paramref name="name"/> in this config: given, or its default.</summary>
    internal double OptionValue(Architecture architecture, string name)
    {
        var option = architecture.Option(name);
        return ArchitectureOptions is { } given && given.TryGetValue(name, out double v) ? v : option.Default;
    }

    private void ValidateOptions(Architecture architecture)
    {
        foreach (var (name, value) in ArchitectureOptions ?? new Dictionary<string, double>())
        {
            var option = architecture.Options.FirstOrDefault(o => o.Name == name)
                ?? throw new ArgumentException($"TrainConfig.ArchitectureOptions: {architecture.Name} has no option '{name}'" +
                    (architecture.Options.Count == 0 ? " (it has none)." : $"; its options are {string.Join(", ", architecture.Options.Select(o => o.Name))}."));
            option.Validate(value, architecture.Name);
        }
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
