using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>
/// The int8 screen changes no result: a whole training run of the CLI's default (TopK, F 512, k 8, B 1024, 1,500
/// steps on the default synthetic activations; Stress tier) gives byte-identical weights with the screen on and off, and
/// so do its first 200 steps (fast tier); where this CPU has no int8 kernel, turning it on is refused and the fp32 path
/// (every other test) is what runs.
/// </summary>
public class Int8ScreenTrainingTests
{
    [Fact]
    public void Training_WithAndWithoutTheScreen_GivesByteIdenticalWeights() => AssertByteIdentical(steps: 200);

    [Fact]
    [Trait("Category", "Stress")]
    public void Training_WithAndWithoutTheScreen_GivesByteIdenticalWeights_OverTheWholeDefaultRun() => AssertByteIdentical(steps: 1500);

    private static void AssertByteIdentical(int steps)
    {
        using var plain = new CpuBackend { UseInt8Screen = false };
        using var screened = new CpuBackend();
        if (!screened.Int8ScreenSupported)
        {
            Assert.Throws<NotSupportedException>(() => screened.UseInt8Screen = true);
            Assert.Skip("no int8 kernel on this CPU (needs AVX-VNNI or AVX-512BW): only the fp32 path runs here");
        }
        screened.UseInt8Screen = true;
        var expected = Train(plain, steps);
        var actual = Train(screened, steps);
        for (int t = 0; t < expected.Length; t++)
            Assert.True(expected[t].AsSpan().SequenceEqual(actual[t]), $"tensor {t} differs");
    }

    [Fact]
    public void UseInt8Screen_OnTheReferenceBackend_IsRefused_NamingTheBackend()
    {
        using var reference = Backend.Create("reference");
        Assert.False(reference.UseInt8Screen);
        Assert.Contains("reference", Assert.Throws<NotSupportedException>(() => reference.UseInt8Screen = true).Message);
        reference.UseInt8Screen = false;
    }

    private static float[][] Train(Backend backend, int steps)
    {
        var data = new SyntheticActivations(new SyntheticOptions());
        using var sae = SparseAutoencoder.CreateRandom(backend, new SaeConfig(data.InputDim, 512, 8), seed: 0);
        using (var trainer = new Trainer(sae, new TrainConfig(BatchSize: 1024, Steps: steps)))
            TrainLoop.Run(trainer, data);
        return [backend.ToHost(sae.WEnc), backend.ToHost(sae.BEnc), backend.ToHost(sae.WDec), backend.ToHost(sae.BDec)];
    }
}
