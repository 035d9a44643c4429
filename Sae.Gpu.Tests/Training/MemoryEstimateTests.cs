using SaeGpu.Cli;
using SaeGpu.Data;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

[Collection(nameof(MemoryEstimateTests))]
public class MemoryEstimateTests : TempDirectory
{
    public static TheoryData<string> Architectures() => [.. SaeConfig.Architectures];

    // The estimate must cover what a trainer really holds (so the preflight never lets through a run that cannot fit) and
    // not exceed it by much (so it does not refuse runs that fit), for every architecture, with the batch-proportional and
    // the weight-proportional terms each dominating once. The class runs alone (its collection disables parallelization),
    // so the live heap it measures is the trainer's.
    [Theory]
    [MemberData(nameof(Architectures))]
    public void Estimate_CoversTheLiveHeapOfATrainer_WithinAFactorOfTwo(string arch)
    {
        foreach (var (b, d, f) in new[] { (256, 32, 512), (32, 256, 1024) })
        {
            var model = new SaeConfig(d, f, 8, arch);
            var train = new TrainConfig(BatchSize: b, Steps: 3, ArchitectureOptions: ArchOptions.For(arch));
            var data = new SyntheticActivations(new SyntheticOptions(InputDim: d, Features: 64, DownstreamEvery: 1));
            long before = GC.GetTotalMemory(forceFullCollection: true);
            using var sae = SparseAutoencoder.Create(model, TestBackends.Cpu, 0);
            using var trainer = new Trainer(sae, train);
            TrainLoop.Run(trainer, data, 2);
            long live = GC.GetTotalMemory(forceFullCollection: true) - before;
            var e = MemoryEstimate.For(model, train);
            long estimate = e.Total - e.Saving;
            Assert.True(live <= estimate && estimate <= 2 * live, $"{arch} B={b} d={d} F={f}: live {live} bytes, estimate {estimate} ({e.Describe()}).");
            GC.KeepAlive(trainer);
        }
    }

    [Fact]
    public void Check_RefusesWithTheNumbers_WhenTheRunCannotFit()
    {
        var e = MemoryEstimate.For(new SaeConfig(1024, 2_000_000, 32), new TrainConfig());
        Assert.Equal(4 * (2L * 2_000_000 * 1024 + 2_000_000 + 1024), e.Weights);
        Assert.Equal(2 * e.Weights, e.Optimizer);
        if (MemoryEstimate.Headroom(e.Total) <= MemoryEstimate.AvailableHostBytes()) Assert.Skip("This machine has more memory than the 2M × 1024 SAE needs.");
        var message = Assert.Throws<InsufficientMemoryException>(() => e.Check(TestBackends.Cpu)).Message;
        Assert.Contains("GiB", message);
        Assert.Contains("available", message);
    }

    // The CLI refuses at once, with exit 2 and the numbers, instead of allocating for a minute and dying "Out of memory".
    [Fact]
    public void Train_TooLargeForMemory_IsRefusedBeforeAnyAllocation()
    {
        if (MemoryEstimate.For(new SaeConfig(1024, 2_000_000, 32), new TrainConfig()).Total is var t && MemoryEstimate.Headroom(t) <= MemoryEstimate.AvailableHostBytes())
            Assert.Skip("This machine has more memory than the 2M × 1024 SAE needs.");
        var error = new StringWriter();
        int exit = SaeCli.Run(["train", "--d", "1024", "--latents", "2000000", "--k", "32", "--steps", "1", "--out", Path.Combine(Dir, "big")], TextWriter.Null, error);
        Assert.Equal(2, exit);
        Assert.Contains("Training needs about", error.ToString());
    }

    [Fact]
    public void Validate_RefusesAnAuxKLargerThanF()
    {
        var e = Assert.Throws<ArgumentException>(() => new TrainConfig(AuxK: 65).Validate(new SaeConfig(16, 64, 4)));
        Assert.Contains("AuxK = 65", e.Message);
        Assert.Contains("AuxK = 65", Assert.Throws<CliException>(() => SaeCli.Invoke(["train", "--d", "16", "--latents", "64", "--k", "4", "--aux-k", "65", "--out", Path.Combine(Dir, "a")], TextWriter.Null)).Message);
    }
}

/// <summary>Runs <see cref="MemoryEstimateTests"/> with no other test at the same time (they measure the process's heap).</summary>
[CollectionDefinition(nameof(MemoryEstimateTests), DisableParallelization = true)]
public sealed class MemoryEstimateCollection;
