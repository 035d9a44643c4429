using SaeGpu.Architectures;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>g-SAE's gradient-informed selection and vSAE's posterior sampling and KL term.</summary>
public class GSaeVSaeTests
{
    [Theory]
    [InlineData("reference")]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void GSae_Selection_FollowsTheGradientScore_AndKeepsEncoderValues(string backend)
    {
        var be = TestBackends.ByName(backend);
        // W_dec = I (d = F = 2), pre = (1, 0.9), g = (0, 1): scores (1, 0.9·(1 + β)); β = 1 picks latent 1, β = 0 latent 0.
        using var sae = SparseAutoencoder.FromWeights(be, new SaeConfig(2, 2, 1, "gsae"), [1, 0, 0, 1], [0, 0], [1, 0, 0, 1], [0, 0]);
        using var scratch = new GSaeArchitecture.GradientScoreScratch(sae, 1);
        using var pre = be.FromHost<float>([1f, 0.9f]);
        using var x = be.FromHost<float>([0f, 0f]);
        using var g = be.FromHost<float>([0f, 1f]);
        using var codes = new SparseCodes(be, 1, 1);
        GSaeArchitecture.SelectByGradientScore(sae, pre, g, 1, scratch, codes);
        var (o, i, v) = codes.ToHost();
        Assert.Equal([0, 1], o);
        Assert.Equal([1], i);
        Assert.Equal([0.9f], v);
        GSaeArchitecture.SelectByGradientScore(sae, pre, g, 0, scratch, codes);
        (_, i, v) = codes.ToHost();
        Assert.Equal([0], i);
        Assert.Equal([1f], v);
    }

    [Fact]
    public void GSae_Selection_PrefersDownstreamRelevantFeatures_OnDataWithAKnownGradient()
    {
        // An SAE whose encoder and decoder are the true directions; k = 1. On tokens where a relevant and an irrelevant
        // feature both fire, TopK keeps whichever has the larger coefficient; g-SAE's score, fed the known downstream gradient,
        // should keep the relevant one far more often.
        const int d = 32, n = 16, b = 4096;
        var source = new SyntheticActivations(new SyntheticOptions(InputDim: d, Features: n, MeanActive: 3,
            ZipfExponent: 0, Noise: 0, Offset: 0, Seed: 5, DownstreamEvery: 2));
        var be = TestBackends.Cpu;
        using var sae = SparseAutoencoder.FromWeights(be, new SaeConfig(d, n, 1, "gsae"), source.Directions, new float[n], source.Directions, new float[d]);
        var (xh, gh) = (new float[b * d], new float[b * d]);
        source.NextBatch(xh, gh);
        using var x = be.FromHost<float>(xh);
        using var g = be.FromHost<float>(gh);
        using var pre = be.Allocate<float>((long)b * n);
        be.Encode(x, sae.BDec, sae.WEnc, sae.BEnc, pre);
        using var scratch = new GSaeArchitecture.GradientScoreScratch(sae, b);
        using var codes = new SparseCodes(be, b, b);
        var relevant = source.Relevant.ToHashSet();
        double RelevantShare(float beta)
        {
            GSaeArchitecture.SelectByGradientScore(sae, pre, g, beta, scratch, codes);
            var (o, idx, _) = codes.ToHost();
            return Enumerable.Range(0, b).Where(t => o[t + 1] > o[t]).Average(t => relevant.Contains(idx[o[t]]) ? 1.0 : 0.0);
        }
        double topk = RelevantShare(0), gsae = RelevantShare(10);
        Assert.True(gsae > topk + 0.2, $"share of tokens whose kept latent is downstream-relevant: TopK {topk:P1}, g-SAE {gsae:P1}");
    }

    [Fact]
    public void GSae_Step_ThrowsWithoutGradients()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2, "gsae"), seed: 1);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 2));
        Assert.Contains("downstream gradients", Assert.Throws<ArgumentException>(() => trainer.Step(new float[8])).Message);
    }

    [Fact]
    public void VSae_IsReproducibleBySeed_AndTheSeedChangesTheNoise()
    {
        float[] Run(int seed)
        {
            var data = new SyntheticActivations(new SyntheticOptions(InputDim: 8, Features: 16, MeanActive: 2, Seed: 1));
            using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(8, 16, 2, "vsae"), seed: 1);
            using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 32, Steps: 5, Seed: seed));
            TrainLoop.Run(trainer, data);
            return sae.ToHost().WDec;
        }
        Assert.Equal(Run(4), Run(4));
        Assert.NotEqual(Run(4), Run(5));
    }

    /// <summary>σ is relative to the data's scale: the same data ×0.1 and ×10 train to codes ×0.1 and ×10 and the same FVU (with σ = 1 in absolute units the small-scale run drowns in noise).</summary>
    [Fact]
    public void VSae_ScaledData_GivesScaledCodes_AndTheSameFvu()
    {
        (double Fvu, double MeanCode) Run(float c)
        {
            var data = new SyntheticActivations(new SyntheticOptions(InputDim: 16, Features: 32, MeanActive: 3, Seed: 1));
            using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(16, 64, 3, "vsae"), seed: 2);
            var x = new float[256 * 16];
            using (var trainer = new Trainer(sae, new TrainConfig(BatchSize: 256, Steps: 300)))
                for (int s = 0; s < 300; s++)
                {
                    data.NextBatch(x);
                    for (int i = 0; i < x.Length; i++) x[i] *= c;
                    trainer.Step(x);
                }
            var held = new float[1024 * 16];
            data.NextBatch(held);
            for (int i = 0; i < held.Length; i++) held[i] *= c;
            using var codes = sae.EncodeCodes(held);
            return (Metrics.Fvu(held, sae.Decode(codes), 16), codes.ToHost().Values.Average(v => (double)v) / c);
        }
        var (small, large) = (Run(0.1f), Run(10));
        Assert.True(large.Fvu < 0.5, $"FVU {large.Fvu:F3} at scale 10");
        Assert.True(small.Fvu / large.Fvu is > 0.8 and < 1.25, $"FVU {small.Fvu:F3} at scale 0.1, {large.Fvu:F3} at scale 10");
        Assert.True(small.MeanCode / large.MeanCode is > 0.8 and < 1.25, $"mean code / scale {small.MeanCode:F3} at 0.1, {large.MeanCode:F3} at 10");
    }

    [Fact]
    public void VSae_KlTerm_ShrinksActivations()
    {
        double MeanCode(double kl)
        {
            var data = new SyntheticActivations(new SyntheticOptions(InputDim: 16, Features: 32, MeanActive: 3, Seed: 1));
            using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(16, 64, 3, "vsae"), seed: 2);
            using (var trainer = new Trainer(sae, new TrainConfig(BatchSize: 256, Steps: 300,
                ArchitectureOptions: new Dictionary<string, double> { ["kl"] = kl, ["posterior-sigma"] = 0.1 })))
            {
                var x = new float[256 * 16];
                for (int s = 0; s < 300; s++) { data.NextBatch(x); trainer.Step(x); }
            }
            var held = new float[1024 * 16];
            data.NextBatch(held);
            using var codes = sae.EncodeCodes(held);
            return codes.ToHost().Values.Average(v => (double)v);
        }
        double free = MeanCode(0), penalized = MeanCode(20);
        Assert.True(penalized < 0.9 * free, $"mean code {free:F4} without KL, {penalized:F4} with KL weight 20");
    }
}
