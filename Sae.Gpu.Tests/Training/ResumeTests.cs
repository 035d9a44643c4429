using SaeGpu.Data;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>Saving and restoring a run's state: a resumed run equals the uninterrupted one bit for bit.</summary>
public class ResumeTests : TempDirectory
{
    private const int D = 12, F = 40, K = 3, B = 32, Steps = 24, StopAt = 11;

    [Theory]
    [InlineData("topk", false)]
    [InlineData("batchtopk", false)]
    [InlineData("feature-choice", false)]
    [InlineData("relu", false)]
    [InlineData("jumprelu", false)]
    [InlineData("topafa", false)]
    [InlineData("gba", false)]
    [InlineData("gsae", false)]
    [InlineData("vsae", false)]
    [InlineData("gated", false)]
    [InlineData("jumprelu-tanh", false)]
    [InlineData("topk", true)]
    public void Resume_EqualsTheUninterruptedRun_BitForBit(string arch, bool matryoshka)
    {
        var model = new SaeConfig(D, F, K, arch, matryoshka ? [8, 20, F] : null);
        var train = new TrainConfig(BatchSize: B, Steps: Steps, DeadAfterTokens: 64, RandomPrefixes: matryoshka ? 3 : 0,
            AuxLoss: matryoshka ? AuxLossKind.AuxZipf : AuxLossKind.AuxK, ArchitectureOptions: ArchOptions.For(arch, ("gba-interval", 4)));
        byte[] uninterrupted = Train(model, train, 0, Steps, null);
        string state = Path.Combine(Dir, "run.saestate");
        Train(model, train, 0, StopAt, state);
        // A differently initialized SAE and a fresh source: everything that matters must come from the state file.
        byte[] resumed = Train(model, train, 99, Steps, state);
        Assert.Equal(uninterrupted, resumed);
    }

    [Fact]
    public void Restore_ThrowsForAnotherBatchSize_NamingIt()
    {
        var model = new SaeConfig(D, F, K);
        string state = Path.Combine(Dir, "run.saestate");
        Train(model, new TrainConfig(BatchSize: B, Steps: Steps), 0, 2, state);
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, model, 0);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: B + 1, Steps: Steps));
        var e = Assert.Throws<SaeFormatException>(() => TrainingState.Restore(state, trainer, Source()));
        Assert.Contains("Batch size", e.Message);
        Assert.Contains(state, e.Message);
    }

    [Fact]
    public void Restore_ThrowsForATruncatedFile_NamingIt()
    {
        var model = new SaeConfig(D, F, K);
        string state = Path.Combine(Dir, "run.saestate");
        Train(model, new TrainConfig(BatchSize: B, Steps: Steps), 0, 2, state);
        var bytes = File.ReadAllBytes(state);
        File.WriteAllBytes(state, bytes[..(bytes.Length / 2)]);
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, model, 0);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: B, Steps: Steps));
        Assert.Contains(state, Assert.Throws<SaeFormatException>(() => TrainingState.Restore(state, trainer, Source())).Message);
    }

    [Fact]
    public void ReadHeader_ThrowsForAFileThatIsNoState()
    {
        string path = Path.Combine(Dir, "other.bin");
        File.WriteAllText(path, "not a state file");
        Assert.Contains("SAESTAT3", Assert.Throws<SaeFormatException>(() => TrainingState.ReadHeader(path)).Message);
    }

    [Fact]
    public void FileActivations_RestoredState_ContinuesTheSameRows_AcrossShardsAndWrapAround()
    {
        string dir = Path.Combine(Dir, "acts");
        var rng = new Random(3);
        foreach (var (name, rows) in new[] { ("a.npy", 70), ("b.npy", 45) })
        {
            using var w = new NpyWriter(Path.Combine(dir, name), D);
            w.Append([.. Enumerable.Range(0, rows * D).Select(_ => (float)rng.NextDouble())]);
            w.Complete();
        }
        var options = new FileActivationOptions(ShuffleBuffer: 40, Seed: 5, Normalize: true);
        var batch = new float[16 * D];
        using var straight = new FileActivations(dir, options);
        using var first = new FileActivations(dir, options);
        for (int i = 0; i < 9; i++) { straight.NextBatch(batch); first.NextBatch(batch); }
        using var resumed = new FileActivations(dir, options);
        CopyState(first, resumed);
        var expected = new float[batch.Length];
        for (int i = 0; i < 12; i++)
        {
            straight.NextBatch(expected);
            resumed.NextBatch(batch);
            Assert.Equal(expected, batch);
        }
        Assert.True(resumed.Epoch >= 1, "the test should cover the wrap-around");
    }

    [Fact]
    public void FileActivations_ReadState_ThrowsForOtherFiles()
    {
        string a = Path.Combine(Dir, "a.npy"), b = Path.Combine(Dir, "b.npy");
        foreach (var (path, rows) in new[] { (a, 30), (b, 31) })
        {
            using var w = new NpyWriter(path, D);
            w.Append(new float[rows * D]);
            w.Complete();
        }
        using var source = new FileActivations(a, new FileActivationOptions(ShuffleBuffer: 8));
        using var other = new FileActivations(b, new FileActivationOptions(ShuffleBuffer: 8));
        Assert.Contains("Rows of shard 0", Assert.Throws<InvalidDataException>(() => CopyState(source, other)).Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(42)]
    [InlineData(-7)]
    [InlineData(int.MaxValue)]
    [InlineData(int.MinValue)]
    public void ResumableRandom_DrawsSystemRandomsNumbers_AndARestoredStateRepeatsThem(int seed)
    {
        var (system, ours) = (new Random(seed), new ResumableRandom(seed));
        for (int i = 0; i < 3000; i++)
        {
            Assert.Equal(system.NextDouble(), ours.NextDouble());
            Assert.Equal(system.Next(), ours.Next());
            Assert.Equal(system.Next(1000), ours.Next(1000));
            Assert.Equal(system.Next(-5, 17), ours.Next(-5, 17));
        }
        var restored = new ResumableRandom(unchecked(seed + 1));
        CopyState(ours, restored);
        for (int i = 0; i < 100; i++) Assert.Equal(system.NextDouble(), restored.NextDouble());
    }

    private static void CopyState(IResumable from, IResumable to)
    {
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes, System.Text.Encoding.UTF8, leaveOpen: true)) from.WriteState(w);
        bytes.Position = 0;
        using var r = new BinaryReader(bytes);
        to.ReadState(r);
    }

    private static SyntheticActivations Source() =>
        new(new SyntheticOptions(InputDim: D, Features: 30, MeanActive: 3, Seed: 4, DownstreamEvery: 4));

    // Trains from step 0 (or from the state at `state` when it exists) up to step `until` on the Cpu backend; saves the
    // state there when `state` is given; returns the final trainer and source state bytes.
    private static byte[] Train(SaeConfig model, TrainConfig train, int initSeed, int until, string? state)
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, model, initSeed);
        using var trainer = new Trainer(sae, train);
        var source = Source();
        var history = state is not null && File.Exists(state) ? TrainingState.Restore(state, trainer, source) : new TrainingHistory();
        var (x, g) = (new float[B * D], new float[B * D]);
        while (trainer.StepsTaken < until)
        {
            source.NextBatch(x, g);
            history.Add(trainer.Step(x, g));
        }
        if (state is not null) TrainingState.Save(state, "test", trainer, source, history);
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes)) { trainer.WriteState(w); source.WriteState(w); }
        return bytes.ToArray();
    }
}
