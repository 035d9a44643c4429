using SaeGpu.Architectures;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>Every architecture learns on synthetic ground truth, and its inference encode round-trips through a checkpoint.</summary>
public class ArchitectureTests : TempDirectory
{
    private const int D = 32, Features = 64, Latents = 128, K = 6, Batch = 512, Steps = 1500;

    public static TheoryData<string> Names() => [.. SaeConfig.Architectures];

    private static (SparseAutoencoder Sae, StepResult First, StepResult Last, SyntheticActivations Data) Train(string arch, TrainConfig? config = null)
    {
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: D, Features: Features, MeanActive: 3, Seed: 1, DownstreamEvery: 4));
        var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, Latents, K, arch), seed: 2);
        // Every architecture at its default options (GBA: bias updates every 50 steps, the first step setting the biases).
        using var trainer = new Trainer(sae, config ?? Config(arch, Steps));
        var (first, last) = TrainLoop.Run(trainer, data);
        return (sae, first, last, data);
    }

    private static TrainConfig Config(string arch, int steps) => new(BatchSize: Batch, Steps: steps);

    /// <summary>The learning bars after 1,500 steps (Stress tier; the fast tier's 300-step runs below assert learning too).</summary>
    [Theory]
    [Trait("Category", "Stress")]
    [MemberData(nameof(Names))]
    public void Architecture_LearnsSyntheticFeatures_AtTargetSparsity(string name)
    {
        string arch = name;
        var (sae, first, last, data) = Train(arch);
        using var _ = sae;
        var recovery = GroundTruthRecovery.Of(sae, data.Directions);
        // Measured at these settings (sae compare, seeds 0–2): ReLU's L1 shrinks codes (FVU ≈ 0.25); JumpReLU reaches low FVU
        // but recovers 60–80 % of the features in 1,500 steps; GBA, without a sparsity loss, FVU ≈ 0.3 and 85–95 %.
        // Their bars are lower, but still demand learning.
        var (maxFvu, minRecovered) = arch switch
        {
            "relu" => (0.5, 0.9),
            // vSAE: the KL term shrinks μ like an L2 penalty, and σ = 1 noise on codes of size 0.5–1.5 slows learning here
            // (held-out FVU 0.28, 61 % recovered at this scale; 11 % on the README's data, d 64, 256 features, after the init fix).
            "vsae" => (0.5, 0.5),
            "jumprelu" => (0.2, 0.5),
            // Measured here: gated 87.5 %, jumprelu-tanh 83 % (sae compare on the README's data: 96.5 % and 84 %).
            "gated" => (0.2, 0.8),
            "jumprelu-tanh" => (0.2, 0.7),
            "gba" => (0.5, 0.8),
            "batchtopk" => (0.2, 0.75), // 81–100 % across seeds
            "feature-choice" => (0.2, 0.85), // 89 % with the salted init stream (90–100 % before)
            _ => (0.2, 0.9),
        };
        // vSAE's training FVU includes the posterior noise (σ = 1 per kept latent); its inference code is the mean μ.
        double fvu = arch == "vsae" ? HeldOutFvu(sae, data) : last.Fvu;
        Assert.True(fvu < maxFvu && fvu < first.Fvu / 2, $"{name}: FVU {first.Fvu:F3} → {fvu:F3}");
        Assert.True(recovery.RecoveredFraction >= minRecovered, $"{name}: recovered {recovery.RecoveredFraction:P1}");
        Assert.InRange(last.L0, K / 3.0, 1.5 * K);
    }

    private static double HeldOutFvu(SparseAutoencoder sae, SyntheticActivations data)
    {
        var x = new float[1024 * D];
        data.NextBatch(x);
        using var codes = sae.EncodeCodes(x);
        return Metrics.Fvu(x, sae.Decode(codes), D);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Architecture_Learns_AndItsInferenceEncodeSurvivesCheckpoint_TrackingTrainingSparsity(string name)
    {
        string arch = name;
        var (sae, first, last, data) = Train(arch, Config(arch, 300));
        using var _ = sae;
        double fvu = arch == "vsae" ? HeldOutFvu(sae, data) : last.Fvu;   // vSAE's training FVU includes its posterior noise
        Assert.True(fvu < first.Fvu / 2, $"{name}: FVU {first.Fvu:F3} → {fvu:F3} in 300 steps");
        string path = Path.Combine(Dir, name + ".saeckpt");
        Checkpoint.Save(sae, path);
        using var loaded = Checkpoint.Load(TestBackends.Reference, path);
        Assert.Equal(arch, loaded.Config.Architecture);
        var x = new float[64 * D];
        data.NextBatch(x);
        using var a = sae.EncodeCodes(x);
        using var b = loaded.EncodeCodes(x);
        var oa = Tolerance.AssertSameCodes(a, b, 1e-4);
        // Inference rules (thresholds for the batch-level selections) keep roughly the trained sparsity.
        Assert.InRange((double)oa[64] / 64, last.L0 / 3, last.L0 * 3 + 1);
    }

    [Fact]
    public void BatchTopK_Training_KeepsExactBudget_RowsVary()
    {
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: D, Features: Features, Seed: 5));
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, Latents, K, "batchtopk"), seed: 2);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 64, Steps: 10));
        TrainLoop.Run(trainer, data);
        var (offsets, _, _) = trainer.Codes.ToHost();
        Assert.Equal(K * 64, offsets[64]);
        Assert.Contains(Enumerable.Range(0, 64), r => offsets[r + 1] - offsets[r] != K);
    }

    [Fact]
    public void FeatureChoice_Training_GivesEachLatentAtMostItsZipfBudget()
    {
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: D, Features: Features, Seed: 5));
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, Latents, K, "feature-choice"), seed: 2);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 64, Steps: 3));
        TrainLoop.Run(trainer, data);
        var (offsets, idx, _) = trainer.Codes.ToHost();
        var m = FeatureChoiceArchitecture.ZipfBudgets(Latents, K, 64, TrainConfig.OptionsOf("feature-choice").Single(o => o.Name == "zipf-alpha").Default);
        var taken = idx[..offsets[64]].GroupBy(j => j).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(taken, p => Assert.True(p.Value <= m[p.Key], $"latent {p.Key} took {p.Value} tokens > m = {m[p.Key]}"));
        // The Zipf capacities give the first latents many tokens and the last few: frequencies differ by latent.
        Assert.True(taken.GetValueOrDefault(0) > 4 * taken.GetValueOrDefault(Latents - 1, 0) && taken.GetValueOrDefault(0) > K,
            $"latent 0 took {taken.GetValueOrDefault(0)} tokens, latent {Latents - 1} {taken.GetValueOrDefault(Latents - 1)}");
    }

    /// <summary>
    /// top-AFA at its default λ_AFA with a cap well above the data's L0 (24 against 3 true features per token): k* is chosen
    /// per token from the input's norm, below the cap on most tokens and varying with the token (measured: L0 14.0, p10 3,
    /// p90 24, 65 % of tokens below the cap, FVU 0.15; with λ_AFA = 0: L0 24.0 and no token below the cap).
    /// </summary>
    [Fact]
    public void TopAfa_WithARoomyCap_ChoosesFewerThanKOnMostTokens_AndKStarVaries()
    {
        const int cap = 24;
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: D, Features: Features, MeanActive: 3, Seed: 1));
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, Latents, cap, "topafa"), seed: 2);
        using (var trainer = new Trainer(sae, new TrainConfig(BatchSize: Batch, Steps: 300)))
            TrainLoop.Run(trainer, data);
        var x = new float[4096 * D];
        data.NextBatch(x);
        var m = sae.Evaluate(x);
        double belowCap = (double)m.ActivePerToken!.Take(cap).Sum() / m.Tokens;
        string seen = $"L0 {m.L0:F2}, p10 {m.ActiveQuantile(0.1)}, p90 {m.ActiveQuantile(0.9)}, {belowCap:P1} below the cap, FVU {m.Fvu:F3}";
        Assert.True(belowCap > 0.5, seen);
        Assert.True(m.ActiveQuantile(0.9) > 2 * m.ActiveQuantile(0.1), seen);
        Assert.True(m.L0 < 0.75 * cap, seen);
        Assert.True(m.Fvu < 0.3, seen);
    }

    [Fact]
    public void AbsTopK_Codes_CarryNegativeValues()
    {
        var (sae, _, _, data) = Train("abstopk", new TrainConfig(BatchSize: Batch, Steps: 50));
        using var _ = sae;
        var x = new float[64 * D];
        data.NextBatch(x);
        using var codes = sae.EncodeCodes(x);
        Assert.Contains(codes.ToHost().Values, v => v < 0);
    }

    /// <summary>
    /// AbsTopK's claim on data whose features are used in both directions: with one latent per feature it recovers most of
    /// them, while TopK's non-negative codes would need two latents per feature (measured: AbsTopK 84 %, TopK 44 %).
    /// </summary>
    [Fact]
    public void AbsTopK_OnSignedFeatures_RecoversWhatTopKNeedsTwiceTheLatentsFor()
    {
        double Recovered(string arch)
        {
            var data = new SyntheticActivations(new SyntheticOptions(InputDim: D, Features: 32, MeanActive: 2, Seed: 4, Signed: true));
            using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, 32, 2, arch), seed: 4);
            using (var trainer = new Trainer(sae, new TrainConfig(BatchSize: Batch, Steps: 400)))
                TrainLoop.Run(trainer, data);
            return GroundTruthRecovery.Of(sae, data.Directions).RecoveredFraction;
        }
        double abs = Recovered("abstopk"), top = Recovered("topk");
        Assert.True(abs >= 0.8 && abs > top + 0.25, $"recovered: abstopk {abs:P1}, topk {top:P1}");
    }

    /// <summary>An SAE made as "mutual-choice" (the alias) keeps that name through both formats and encodes as BatchTopK.</summary>
    [Theory]
    [InlineData("m.saeckpt")]
    [InlineData("m-saelens")]
    public void MutualChoice_SavesAndLoadsUnderItsName_AndEncodesAsBatchTopK(string file)
    {
        using var mc = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, Latents, K, "mutual-choice"), seed: 3);
        using var btk = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, Latents, K, "batchtopk"), seed: 3);
        var theta = Enumerable.Range(0, Latents).Select(j => 0.01f * (j % 7)).ToArray();
        mc.SetParameter("threshold", theta);
        btk.SetParameter("threshold", theta);
        string path = Path.Combine(Dir, file);
        mc.Save(path);
        using var loaded = SparseAutoencoder.Load(path, TestBackends.Cpu);
        Assert.Equal("mutual-choice", loaded.Config.Architecture);
        var x = new float[64 * D];
        new SyntheticActivations(new SyntheticOptions(InputDim: D, Features: Features, Seed: 2)).NextBatch(x);
        using var a = loaded.EncodeCodes(x);
        using var b = btk.EncodeCodes(x);
        Assert.Equal(b.ToHost().Indices, a.ToHost().Indices);
        Assert.Equal(b.ToHost().Values, a.ToHost().Values);
    }
}
