using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>Training on synthetic ground truth must learn: FVU falls well below its start and true features are recovered.</summary>
public class TrainingSmokeTests
{
    [Fact]
    public void TopK_OnSyntheticData_RecoversTrueFeatures()
    {
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: 32, Features: 64, MeanActive: 3, Seed: 1));
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(32, 128, 6), seed: 2);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 512, Steps: 1000));
        var (first, last) = TrainLoop.Run(trainer, data);
        var recovery = GroundTruthRecovery.Compute(data.Directions, sae.Backend.ToHost(sae.WDec), 32);
        Assert.True(first.Fvu > 0.5, $"initial FVU {first.Fvu} should be high");
        Assert.True(last.Fvu < 0.15, $"final FVU {last.Fvu} should be < 0.15");
        Assert.True(recovery.RecoveredFraction >= 0.9, $"recovered {recovery.RecoveredFraction:P1} of true features");
        Assert.InRange(last.L0, 1, 6);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Initialization_WithTheDatasSeed_DoesNotStartAtTheTrueFeatures(int seed)
    {
        // The CLI seeds data and initialization alike; before the init stream was salted, the first N decoder rows were the
        // N true directions and every run "recovered" 100 % before its first step.
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: 64, Features: 256, Seed: seed));
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(64, 512, 8), seed);
        var recovery = GroundTruthRecovery.Compute(data.Directions, sae.Backend.ToHost(sae.WDec), 64);
        Assert.True(recovery.RecoveredFraction < 0.05, $"{recovery.RecoveredFraction:P1} of the true features recovered before training");
        Assert.True(recovery.MeanMaxCosine < 0.6, $"mean max cosine {recovery.MeanMaxCosine:F3} before training");
    }

    [Fact]
    public void LearningRate_WarmsUpThenDecaysToZero()
    {
        var c = new TrainConfig(Steps: 100, LearningRate: 1.0, WarmupSteps: 10, DecayFraction: 0.2);
        Assert.Equal(0.1, c.LearningRateAt(0, 16), 12);
        Assert.Equal(1.0, c.LearningRateAt(50, 16), 12);
        Assert.Equal(0.5, c.LearningRateAt(90, 16), 12);
        Assert.True(c.LearningRateAt(99, 16) < 0.06);
        Assert.Equal(2e-4, TrainConfig.DefaultLearningRate(16384), 12);
        Assert.Equal(4e-4, TrainConfig.DefaultLearningRate(4096), 12);
    }

    [Fact]
    public void DeadLatentTracker_CountsTokensSinceFired()
    {
        var t = new DeadLatentTracker(3, deadAfterTokens: 20);
        t.Update([1, 0, 0], 10);
        t.Update([0, 0, 2], 10);
        Assert.Equal([10L, 20L, 0L], t.TokensSinceFired.ToArray());
        Assert.Equal(1.0 / 3, t.DeadFraction, 12);
    }

    [Fact]
    public void DecoderRows_StayUnitNorm_AndSelectionIsSortedByLatent()
    {
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: 16, Features: 20, Seed: 3));
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(16, 40, 5), seed: 1);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 64, Steps: 20));
        TrainLoop.Run(trainer, data);
        var w = sae.Backend.ToHost(sae.WDec);
        for (int j = 0; j < 40; j++)
            Assert.Equal(1.0, Math.Sqrt(w.AsSpan(j * 16, 16).ToArray().Sum(v => (double)v * v)), 4);
        var (offsets, idx, val) = trainer.Codes.ToHost();
        for (int r = 0; r < 64; r++)
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
            {
                Assert.True(val[p] > 0);
                if (p > offsets[r]) Assert.True(idx[p] > idx[p - 1], "row entries must be ordered by latent index");
            }
    }
}
