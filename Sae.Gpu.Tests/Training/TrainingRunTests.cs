using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>Training runs in the library: progress, checkpoints, cancellation that leaves a resumable state, bit-identical resume.</summary>
public class TrainingRunTests : TempDirectory
{
    private const int D = 12, Steps = 24;
    private static readonly SaeConfig Model = new(D, 32, 3);
    private static readonly TrainConfig Train = new(BatchSize: 32, Steps: Steps, DeadAfterTokens: 200);

    private static SyntheticActivations Source() => new(new SyntheticOptions(InputDim: D, Features: 20, MeanActive: 2, Seed: 7));

    private sealed class Reports(Action<StepResult>? onStep = null) : IProgress<StepResult>
    {
        public List<StepResult> Steps { get; } = [];

        public void Report(StepResult value)
        {
            Steps.Add(value);
            onStep?.Invoke(value);
        }
    }

    [Fact]
    public void Run_ReportsEveryStep_SavesTheSaeAndMetrics_AndRemovesItsState()
    {
        string output = Path.Combine(Dir, "run");
        using var run = TrainingRun.Start(Model, Train, Source(), new TrainingRunOptions(output, CheckpointEvery: 10), TestBackends.Cpu);
        var progress = new Reports();
        int saves = 0;
        run.Saved += (_, _) => saves++;
        var result = run.Run(progress, TestContext.Current.CancellationToken);
        Assert.True(result.Completed);
        Assert.Equal(Enumerable.Range(1, Steps), progress.Steps.Select(s => s.Step));
        Assert.Equal(progress.Steps, run.History);
        Assert.Equal(3, saves); // steps 10 and 20, then the end
        Assert.False(File.Exists(TrainingRun.StatePath(output)));
        Assert.Equal(Steps + 1, File.ReadAllLines(TrainingRun.CompanionPath(output, "metrics.csv")).Length);
        using var saved = SparseAutoencoder.Load(output);
        Assert.Equal(run.Sae.GetParameter("W_dec"), saved.GetParameter("W_dec"));
    }

    [Fact]
    public void Cancelled_LeavesAResumableCheckpoint_AndTheResumedRunEqualsAnUninterruptedOne()
    {
        string whole = Path.Combine(Dir, "whole.saeckpt"), parts = Path.Combine(Dir, "parts.saeckpt");
        using (var run = TrainingRun.Start(Model, Train, Source(), new TrainingRunOptions(whole, CheckpointEvery: 0), TestBackends.Cpu))
            Assert.True(run.Run(null, TestContext.Current.CancellationToken).Completed);
        using var stop = new CancellationTokenSource();
        using (var run = TrainingRun.Start(Model, Train, Source(), new TrainingRunOptions(parts, CheckpointEvery: 0), TestBackends.Cpu))
        {
            var result = run.Run(new Reports(s => { if (s.Step == 9) stop.Cancel(); }), stop.Token);
            Assert.False(result.Completed);
            Assert.Equal(9, result.StepsTaken);
        }
        Assert.True(File.Exists(TrainingRun.StatePath(parts)));
        // A fresh source: its read position comes from the state.
        using (var resumed = TrainingRun.Resume(parts, Source(), TestBackends.Cpu))
        {
            Assert.Equal(9, resumed.Trainer.StepsTaken);
            var result = resumed.Run(null, TestContext.Current.CancellationToken);
            Assert.True(result.Completed);
            Assert.Equal(Steps - 9, result.StepsRun);
            Assert.Equal(Steps, resumed.History.Count);
        }
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(parts));
        Assert.Equal(File.ReadAllLines(TrainingRun.CompanionPath(whole, "metrics.csv")), File.ReadAllLines(TrainingRun.CompanionPath(parts, "metrics.csv")));
    }

    [Fact]
    public void InMemory_SavesNothing()
    {
        using var run = TrainingRun.Start(Model, Train with { Steps = 3 }, Source(), new TrainingRunOptions(), TestBackends.Cpu);
        Assert.True(run.Run(null, TestContext.Current.CancellationToken).Completed);
        Assert.Empty(Directory.GetFileSystemEntries(Dir));
        Assert.Throws<FileNotFoundException>(() => TrainingRun.Resume(Path.Combine(Dir, "none"), Source()));
    }

    [Fact]
    public void Start_ThrowsBeforeAnyWork_ForAnUnwritableOutput()
    {
        string file = Path.Combine(Dir, "a-file");
        File.WriteAllText(file, "");
        var e = Assert.Throws<ArgumentException>(() => TrainingRun.Start(Model, Train, Source(), new TrainingRunOptions(Path.Combine(file, "sae"))));
        Assert.Contains("Cannot write the output", e.Message);
    }

    [Fact]
    public void Start_ThrowsForASourceOfAnotherWidth() =>
        Assert.Equal("source", Assert.Throws<ArgumentException>(() => TrainingRun.Start(new SaeConfig(D + 1, 32, 3), Train, Source(), new TrainingRunOptions())).ParamName);

    [Fact]
    public void Start_ThrowsForGSaeOnASourceWithoutGradients() =>
        Assert.Contains("downstream gradients", Assert.Throws<ArgumentException>(() =>
            TrainingRun.Start(Model with { Architecture = "gsae" }, Train, Source(), new TrainingRunOptions())).Message);

    [Fact]
    public void Resume_ThrowsForAnotherInputScale()
    {
        string output = Path.Combine(Dir, "s.saeckpt");
        using (var run = TrainingRun.Start(Model, Train, Source(), new TrainingRunOptions(output, CheckpointEvery: 5)))
        {
            using var stop = new CancellationTokenSource();
            run.Run(new Reports(s => { if (s.Step == 5) stop.Cancel(); }), stop.Token);
        }
        Assert.Equal("options", Assert.Throws<ArgumentException>(() =>
            TrainingRun.Resume(output, Source(), options: new TrainingRunOptions(output, InputScale: 2f))).ParamName);
    }
}
