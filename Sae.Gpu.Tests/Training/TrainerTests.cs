using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>The trainer's contract with a caller's own loop: b_dec initialized only when asked, gradients by name.</summary>
public class TrainerTests
{
    private const int D = 6, B = 8;
    private static readonly float[] Batch = [.. Enumerable.Range(0, B * D).Select(i => (float)Math.Sin(i))];

    private static float[] ColumnMean() => [.. Enumerable.Range(0, D).Select(i => (float)(Enumerable.Range(0, B).Sum(r => (double)Batch[r * D + i]) / B))];

    [Fact]
    public void ComputeGradients_LeavesTheWeightsAlone_EvenOnAFreshTrainer()
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, 12, 2), TestBackends.Cpu, seed: 1);
        var before = sae.ParameterNames.Select(sae.GetParameter).ToArray();
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: B));
        trainer.ComputeGradients(Batch);
        Assert.Equal(before, sae.ParameterNames.Select(sae.GetParameter).ToArray());
        Assert.Contains(TestBackends.Cpu.ToHost(trainer.Gradient("W_enc")), g => g != 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void FirstStep_SetsBDecToTheBatchMean_OnlyWhenAsked(bool initialize)
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, 12, 2), TestBackends.Cpu, seed: 1);
        sae.SetParameter("b_dec", Enumerable.Repeat(5f, D).ToArray());
        // With the learning rate at 0 only the initialization can move b_dec.
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: B, Steps: 1, LearningRate: 1e-30, WarmupSteps: 0, InitializeDecoderBias: initialize));
        trainer.Step(Batch);
        var bDec = sae.GetParameter("b_dec");
        if (initialize) Tolerance.AssertClose(ColumnMean(), bDec, 1e-6, 1e-5, "b_dec");
        else Tolerance.AssertClose(Enumerable.Repeat(5f, D).ToArray(), bDec, 1e-6, 1e-5, "b_dec");
    }

    [Fact]
    public void Gradient_ThrowsForAParameterThatIsNotTrained()
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, 12, 2, "batchtopk"), TestBackends.Cpu, seed: 1);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: B));
        Assert.Equal("name", Assert.Throws<ArgumentException>(() => trainer.Gradient("threshold")).ParamName);
    }
}
