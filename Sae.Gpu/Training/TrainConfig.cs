namespace SaeGpu.Training;

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
    int Seed = 0)
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
