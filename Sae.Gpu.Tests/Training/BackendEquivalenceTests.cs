using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Model;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>The same five training steps on the reference, CPU and ILGPU backends give the same weights.</summary>
public class BackendEquivalenceTests
{
    private static (float[] WEnc, float[] BEnc, float[] WDec, float[] BDec) TrainFiveSteps(Backend be)
    {
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: 33, Features: 40, MeanActive: 3, Seed: 4));
        using var sae = Sae.CreateRandom(be, new SaeConfig(33, 65, 4), seed: 9);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 17, Steps: 5, LearningRate: 3e-3, WarmupSteps: 0));
        var batch = new float[17 * 33];
        for (int s = 0; s < 5; s++)
        {
            data.NextBatch(batch);
            trainer.Step(batch);
        }
        return sae.ToHost();
    }

    [Theory]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void FiveSteps_MatchReference(string backend)
    {
        var expected = TrainFiveSteps(TestBackends.Reference);
        var actual = TrainFiveSteps(TestBackends.ByName(backend));
        Tolerance.AssertClose(expected.WEnc, actual.WEnc, 2e-4, 1e-3, "W_enc");
        Tolerance.AssertClose(expected.BEnc, actual.BEnc, 2e-4, 1e-3, "b_enc");
        Tolerance.AssertClose(expected.WDec, actual.WDec, 2e-4, 1e-3, "W_dec");
        Tolerance.AssertClose(expected.BDec, actual.BDec, 2e-4, 1e-3, "b_dec");
        using var initial = Sae.CreateRandom(TestBackends.Reference, new SaeConfig(33, 65, 4), seed: 9);
        Assert.False(expected.WDec.SequenceEqual(initial.ToHost().WDec), "training did not move W_dec");
    }
}
