using SaeGpu.Data;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>The dead-latent window fits the run, and the latents it calls dead are the ones that do not fire.</summary>
public class DeadLatentTests
{
    [Fact]
    public void DefaultWindow_IsATenthOfTheRun_CappedAt10M()
    {
        Assert.Equal(153_600, new TrainConfig(BatchSize: 1024, Steps: 1500).EffectiveDeadAfterTokens);
        Assert.Equal(10_000_000, new TrainConfig(BatchSize: 4096, Steps: 100_000).EffectiveDeadAfterTokens);
        Assert.Equal(5000, new TrainConfig(BatchSize: 1024, Steps: 1500, DeadAfterTokens: 5000).EffectiveDeadAfterTokens);
        Assert.Equal(1, TrainConfig.DefaultDeadAfterTokens(3));
    }

    /// <summary>
    /// TopK with far more latents than true features (F 256 for 16 features): many latents stop firing, AuxK runs on them,
    /// and the latents flagged dead at the end are the ones that do not fire on fresh tokens while the others do.
    /// </summary>
    [Fact]
    public void TopK_WithTooManyLatents_HasDeadLatents_ThatReallyDoNotFire()
    {
        const int d = 32, f = 256, batch = 256, steps = 400;
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: d, Features: 16, MeanActive: 2, Seed: 3));
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(d, f, 4, "topk"), seed: 3);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: batch, Steps: steps));
        long window = trainer.Config.EffectiveDeadAfterTokens;
        Assert.Equal((long)batch * steps / 10, window);
        var x = new float[batch * d];
        int auxSteps = 0;
        for (int s = 0; s < steps; s++)
        {
            data.NextBatch(x);
            if (trainer.Step(x).AuxLoss > 0) auxSteps++;
        }
        var dead = trainer.Dead.DeadMask();
        Assert.InRange(trainer.DeadFraction, 0.1, 0.95);
        Assert.Equal(dead.Count(v => v == 1) / (double)f, trainer.DeadFraction);
        Assert.True(auxSteps > steps / 10, $"AuxK ran in only {auxSteps} of {steps} steps");

        var fresh = new float[(int)window * d];
        data.NextBatch(fresh);
        var fires = new bool[f];
        foreach (int j in sae.Encode(fresh).Indices) fires[j] = true;
        int deadFiring = Enumerable.Range(0, f).Count(j => dead[j] == 1 && fires[j]);
        int aliveSilent = Enumerable.Range(0, f).Count(j => dead[j] == 0 && !fires[j]);
        Assert.True(deadFiring <= 0.1 * dead.Sum(), $"{deadFiring} of {dead.Sum()} dead latents fire on {window} fresh tokens");
        Assert.True(aliveSilent <= 0.1 * (f - dead.Sum()), $"{aliveSilent} of {f - dead.Sum()} live latents do not fire on {window} fresh tokens");
    }
}
