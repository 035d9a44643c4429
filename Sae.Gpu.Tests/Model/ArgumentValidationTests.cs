using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Model;

/// <summary>Every public argument check: bad input is rejected up front with a message that names the problem.</summary>
public class ArgumentValidationTests
{
    private static void Throws<T>(Action act, string mustMention) where T : Exception
    {
        var e = Assert.Throws<T>(act);
        Assert.Contains(mustMention, e.Message, StringComparison.Ordinal);
    }

    [Fact] public void SaeConfig_ThrowsForZeroInputDim() => Throws<ArgumentException>(() => new SaeConfig(0, 8, 2).Validate(), "InputDim");
    [Fact] public void SaeConfig_ThrowsForZeroLatents() => Throws<ArgumentException>(() => new SaeConfig(4, 0, 1).Validate(), "Latents");
    [Fact] public void SaeConfig_ThrowsForKAboveLatents() => Throws<ArgumentException>(() => new SaeConfig(4, 8, 9).Validate(), "K");
    [Fact] public void SaeConfig_ThrowsForZeroK() => Throws<ArgumentException>(() => new SaeConfig(4, 8, 0).Validate(), "K");
    [Fact] public void SaeConfig_ThrowsForTooManyElements() => Throws<ArgumentException>(() => new SaeConfig(1 << 16, 1 << 16, 1).Validate(), "exceeds");

    [Theory, InlineData("cpu"), InlineData("gpu")]
    public void EncodeTopK_ThrowsForAMaskOfTheWrongLength(string backend)
    {
        var be = TestBackends.ByName(backend);
        using var x = be.Allocate<float>(2 * 4);
        using var bDec = be.Allocate<float>(4);
        using var w = be.Allocate<float>(8 * 4);
        using var bEnc = be.Allocate<float>(8);
        using var mask = be.Allocate<int>(7);
        using var codes = new SparseCodes(be, 2, 2 * 3);
        Throws<ArgumentException>(() => be.EncodeTopK(x, bDec, w, bEnc, mask, 3, false, null, codes), "mask has 7 elements; it must be [F] = 8");
    }

    [Fact] public void TrainConfig_ThrowsForZeroBatch() => Throws<ArgumentException>(() => new TrainConfig(BatchSize: 0).Validate(), "BatchSize");
    [Fact] public void TrainConfig_ThrowsForZeroSteps() => Throws<ArgumentException>(() => new TrainConfig(Steps: 0).Validate(), "Steps");
    [Fact] public void TrainConfig_ThrowsForNegativeLearningRate() => Throws<ArgumentException>(() => new TrainConfig(LearningRate: -1).Validate(), "LearningRate");
    [Fact] public void TrainConfig_ThrowsForNaNLearningRate() => Throws<ArgumentException>(() => new TrainConfig(LearningRate: double.NaN).Validate(), "LearningRate");
    [Fact] public void TrainConfig_ThrowsForNegativeWarmup() => Throws<ArgumentException>(() => new TrainConfig(WarmupSteps: -1).Validate(), "WarmupSteps");
    [Fact] public void TrainConfig_ThrowsForDecayFractionAboveOne() => Throws<ArgumentException>(() => new TrainConfig(DecayFraction: 1.5).Validate(), "DecayFraction");
    [Fact] public void TrainConfig_ThrowsForBeta1OfOne() => Throws<ArgumentException>(() => new TrainConfig(Beta1: 1).Validate(), "Beta1");
    [Fact] public void TrainConfig_ThrowsForBeta2OfOne() => Throws<ArgumentException>(() => new TrainConfig(Beta2: 1).Validate(), "Beta2");
    [Fact] public void TrainConfig_ThrowsForZeroEpsilon() => Throws<ArgumentException>(() => new TrainConfig(Epsilon: 0).Validate(), "Epsilon");
    [Fact] public void TrainConfig_ThrowsForZeroDeadWindow() => Throws<ArgumentException>(() => new TrainConfig(DeadAfterTokens: 0).Validate(), "DeadAfterTokens");

    [Fact] public void TrainConfig_ThrowsForZeroAuxK() => Throws<ArgumentException>(() => new TrainConfig(AuxK: 0).Validate(), "AuxK");
    [Fact] public void TrainConfig_ThrowsForNegativeAuxCoefficient() => Throws<ArgumentException>(() => new TrainConfig(AuxCoefficient: -1).Validate(), "AuxCoefficient");
    [Fact] public void TrainConfig_ThrowsForZeroJumpReluBandwidth() => Throws<ArgumentException>(() => new TrainConfig(ArchitectureOptions: new Dictionary<string, double> { ["bandwidth"] = 0 }).Validate(new SaeConfig(4, 8, 2, "jumprelu")), "[\"bandwidth\"]");
    [Fact] public void TrainConfig_ThrowsForZeroGbaGroups() => Throws<ArgumentException>(() => new TrainConfig(ArchitectureOptions: new Dictionary<string, double> { ["gba-groups"] = 0 }).Validate(new SaeConfig(4, 8, 2, "gba")), "integer ≥ 1");
    [Fact] public void TrainConfig_ThrowsForGbaHighFrequencyAboveOne() => Throws<ArgumentException>(() => new TrainConfig(ArchitectureOptions: new Dictionary<string, double> { ["gba-high-frequency"] = 2 }).Validate(new SaeConfig(4, 8, 2, "gba")), "gba-high-frequency");
    [Fact] public void TrainConfig_ThrowsForThresholdEmaOfOne() => Throws<ArgumentException>(() => new TrainConfig(ArchitectureOptions: new Dictionary<string, double> { ["threshold-ema"] = 1 }).Validate(new SaeConfig(4, 8, 2, "batchtopk")), "threshold-ema");
    [Fact] public void SaeConfig_ThrowsForMatryoshkaWidthsNotEndingAtF() => Throws<ArgumentException>(() => new SaeConfig(4, 8, 2, "topk", [2, 6]).Validate(), "end with Latents");
    [Fact] public void SaeConfig_ThrowsForMatryoshkaWidthsNotIncreasing() => Throws<ArgumentException>(() => new SaeConfig(4, 8, 2, "topk", [4, 4, 8]).Validate(), "strictly increasing");
    [Fact] public void SaeConfig_ThrowsForMatryoshkaWithReluSelection() => Throws<ArgumentException>(() => new SaeConfig(4, 8, 2, "relu", [4, 8]).Validate(), "relu");
    [Fact] public void TrainConfig_ThrowsForNegativePrefixWeight() => Throws<ArgumentException>(() => new TrainConfig(PrefixWeights: [1, -1]).Validate(), "PrefixWeights");
    [Fact] public void TrainConfig_ThrowsForOneRandomPrefix() => Throws<ArgumentException>(() => new TrainConfig(RandomPrefixes: 1).Validate(), "RandomPrefixes");
    [Fact] public void TrainConfig_ThrowsForNegativeGradientBeta() => Throws<ArgumentException>(() => new TrainConfig(ArchitectureOptions: new Dictionary<string, double> { ["beta"] = -1 }).Validate(new SaeConfig(4, 8, 2, "gsae")), "beta");
    [Fact] public void TrainConfig_ThrowsForNegativePosteriorSigma() => Throws<ArgumentException>(() => new TrainConfig(ArchitectureOptions: new Dictionary<string, double> { ["posterior-sigma"] = -1 }).Validate(new SaeConfig(4, 8, 2, "vsae")), "posterior-sigma");
    [Fact] public void TrainConfig_ThrowsForNaNKlWeight() => Throws<ArgumentException>(() => new TrainConfig(ArchitectureOptions: new Dictionary<string, double> { ["kl"] = double.NaN }).Validate(new SaeConfig(4, 8, 2, "vsae")), "kl");
    [Fact] public void SyntheticActivations_ThrowsForWrongGradientLength() => Throws<ArgumentException>(() => new SyntheticActivations(new SyntheticOptions(InputDim: 2, Features: 4, MeanActive: 1, DownstreamEvery: 4)).NextBatch(new float[4], new float[2]), "Gradients");
    [Fact] public void TrainConfig_ThrowsForZeroMinPrefix() => Throws<ArgumentException>(() => new TrainConfig(MinPrefix: 0).Validate(), "MinPrefix");

    [Fact]
    public void Trainer_ThrowsForPrefixWeightCountMismatch()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2, "topk", [4, 8]), seed: 1);
        Throws<ArgumentException>(() => new Trainer(sae, new TrainConfig(BatchSize: 4, PrefixWeights: [1, 1, 1])), "PrefixWeights has 3");
    }

    [Fact]
    public void Trainer_ThrowsForMorePrefixesThanSizes()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2, "topk", [8]), seed: 1);
        Throws<ArgumentException>(() => new Trainer(sae, new TrainConfig(BatchSize: 4, RandomPrefixes: 9)), "RandomPrefixes = 9");
    }

    [Fact]
    public void Trainer_ThrowsForPrefixOptionsOnAPlainSae()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2), seed: 1);
        Throws<ArgumentException>(() => new Trainer(sae, new TrainConfig(BatchSize: 4, RandomPrefixes: 3)), "Matryoshka SAE");
    }

    [Fact]
    public void PrefixLoss_ThrowsForCodesThatAreNotAGroupView()
    {
        var be = TestBackends.Cpu;
        using var codes = new SparseCodes(be, 2, 4);
        using var other = new SparseCodes(be, 4, 4);
        using var w = be.Allocate<float>(8 * 3);
        using var v3 = be.Allocate<float>(3);
        using var x = be.Allocate<float>(6);
        using var ends = be.FromHost<int>([4, 8]);
        using var c = be.FromHost<float>([1f, 1f]);
        using var g = be.Allocate<float>(12);
        using var gv = be.Allocate<float>(4);
        using var sse = be.Allocate<float>(4);
        Throws<ArgumentException>(() => be.PrefixLoss(codes, w, v3, x, ends, c, other, g, x, gv, sse), "GroupView(2)");
        using var groups = codes.GroupView(2);
        using var gShort = be.Allocate<float>(10); // gGroup needs B·n·d = 2·2·3 = 12 values
        Throws<ArgumentException>(() => be.PrefixLoss(codes, w, v3, x, ends, c, groups, gShort, x, gv, sse), "gGroup has 10 elements; it must be [B·n, d] = 12");
    }

    [Fact]
    public void MatchingPursuit_ThrowsForAtomsOfAnotherWidth()
    {
        var be = TestBackends.Cpu;
        using var codes = new SparseCodes(be, 2, 4);
        using var x = be.Allocate<float>(6);
        using var atoms = be.Allocate<float>(4);
        using var residual = be.Allocate<float>(6);
        Throws<ArgumentException>(() => be.MatchingPursuit(x, atoms, 2, codes, residual), "atoms has 4 elements, which is not a whole [n, d] matrix with 3 columns");
    }

    [Fact] public void SparseCodes_GroupView_ThrowsForZeroGroups() => Throws<ArgumentOutOfRangeException>(() => new SparseCodes(TestBackends.Cpu, 2, 4).GroupView(0), "groups");
    [Fact] public void SparseCodes_FromHost_ThrowsForOffsetsPastTheEntries() => Throws<ArgumentException>(() => SparseCodes.FromHost(TestBackends.Cpu, [0, 3], [1], [1f]), "nnz");
    [Fact] public void PrefixFvu_IsNullForAPlainSae() => Assert.Null(SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2), 1).Evaluate(new float[8]).PrefixFvu);

    [Fact] public void SaeConfig_ThrowsForUnknownArchitecture_ListingTheNames() => Throws<ArgumentException>(() => new SaeConfig(4, 8, 2, "topq").Validate(), "feature-choice");
    [Fact] public void TrainConfig_ThrowsForAnOptionTheArchitectureLacks() => Throws<ArgumentException>(() => new TrainConfig(ArchitectureOptions: new Dictionary<string, double> { ["l1"] = 1 }).Validate(new SaeConfig(4, 8, 2, "topk")), "topk has no option 'l1'");
    [Fact] public void TrainConfig_OptionsOf_ThrowsForUnknownArchitecture() => Throws<ArgumentException>(() => TrainConfig.OptionsOf("topq"), "topq");
    [Fact] public void FiringHistogram_ThrowsForNegativeFrequency() => Throws<ArgumentException>(() => FiringHistogram.Compute([0.1, -1]), "-1");

    [Fact]
    public void FiringHistogram_BinsByDecade()
    {
        var h = FiringHistogram.Compute([0, 1e-7, 3e-4, 0.05, 0.5, 1]);
        Assert.Equal([1, 1, 0, 1, 0, 1, 2], h.Counts);
        Assert.Equal("0:1 <1e-5:1 1e-5:0 1e-4:1 1e-3:0 1e-2:1 1e-1:2", h.ToString());
    }

    [Fact] public void SyntheticOptions_ThrowsForMeanActiveAboveFeatures() => Throws<ArgumentException>(() => new SyntheticOptions(Features: 4, MeanActive: 5).Validate(), "MeanActive");
    [Fact] public void SyntheticOptions_ThrowsForNegativeNoise() => Throws<ArgumentException>(() => new SyntheticOptions(Noise: -1).Validate(), "Noise");
    [Fact] public void SyntheticOptions_ThrowsForInvertedMagnitudes() => Throws<ArgumentException>(() => new SyntheticOptions(MinMagnitude: 2, MaxMagnitude: 1).Validate(), "magnitudes");
    [Fact] public void SyntheticActivations_ThrowsForRaggedBatch() => Throws<ArgumentException>(() => new SyntheticActivations(new SyntheticOptions(InputDim: 4)).NextBatch(new float[6]), "multiple of d = 4");

    [Fact] public void Backends_ThrowsForUnknownName() => Throws<ArgumentException>(() => Backend.Create("tpu"), "tpu");

    [Fact]
    public void Sae_Encode_ThrowsForRaggedInput()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2), 0);
        Throws<ArgumentException>(() => sae.EncodeCodes(new float[7]), "d = 4");
    }

    [Fact]
    public void Sae_FromWeights_ThrowsForWrongLength() =>
        Throws<ArgumentException>(() => SparseAutoencoder.FromWeights(TestBackends.Cpu, new SaeConfig(2, 3, 1), new float[6], new float[3], new float[5], new float[2]), "wDec");

    [Fact]
    public void Trainer_Step_ThrowsForWrongBatchLength()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(4, 8, 2), 0);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 3, Steps: 1));
        Throws<ArgumentException>(() => trainer.Step(new float[8]), "B·d = 3·4");
    }

    [Fact]
    public void Backend_ThrowsForTensorOfAnotherBackend()
    {
        using var foreign = TestBackends.Reference.Allocate<float>(4);
        using var pre = TestBackends.Cpu.Allocate<float>(4);
        using var codes = new SparseCodes(TestBackends.Cpu, 1, 1);
        Throws<ArgumentException>(() => TestBackends.Cpu.TopK(foreign, 1, false, null, codes), "belongs to backend 'reference'");
    }

    [Fact]
    public void Backend_Upload_ThrowsForLengthMismatch()
    {
        using var t = TestBackends.Cpu.Allocate<float>(4);
        Throws<ArgumentException>(() => TestBackends.Cpu.Upload<float>(new float[3], t), "3 elements");
    }

    [Fact]
    public void TopK_ThrowsForCodesTooSmall()
    {
        using var pre = TestBackends.Cpu.Allocate<float>(8);
        using var codes = new SparseCodes(TestBackends.Cpu, 2, 3);
        Throws<ArgumentException>(() => TestBackends.Cpu.TopK(pre, 2, false, null, codes), "codes hold 3 entries; the op needs B·k = 4");
    }

    [Fact] public void SparseCodes_ThrowsForZeroRows() => Assert.Throws<ArgumentOutOfRangeException>(() => new SparseCodes(TestBackends.Cpu, 0, 1));
    [Fact] public void DeadLatentTracker_ThrowsForWrongCountLength() => Throws<ArgumentException>(() => new DeadLatentTracker(3, 10).Update([1, 2], 5), "expected 3");
    [Fact] public void GroundTruthRecovery_ThrowsForRaggedDirections() => Throws<ArgumentException>(() => GroundTruthRecovery.Compute(new float[5], new float[4], 2), "multiples of d = 2");
    [Fact] public void Metrics_Fvu_ThrowsForLengthMismatch() => Throws<ArgumentException>(() => Metrics.Fvu(new float[4], new float[2], 2), "xhat");
}
