using SaeGpu.Cli;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>NaN and ±Inf never train silently: inputs are refused naming the row and column, and a diverging run saves nothing.</summary>
public class NonFiniteTests : TempDirectory
{
    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void Trainer_RefusesABatchWithANonFiniteValue_NamingRowAndColumn(float bad)
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(8, 16, 2), seed: 1);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: 4, Steps: 2));
        var x = new float[4 * 8];
        x[2 * 8 + 5] = bad;
        var e = Assert.Throws<ArgumentException>(() => trainer.Step(x));
        Assert.Contains("row 2, column 5", e.Message);
        Assert.Equal(0, trainer.StepsTaken);
    }

    private string Activations(float bad, long row, int column)
    {
        string path = Path.Combine(Dir, "x.npy");
        var rows = new float[4000 * 16];
        new SyntheticActivations(new SyntheticOptions(InputDim: 16, Features: 24)).NextBatch(rows);
        rows[row * 16 + column] = bad;
        using var writer = new NpyWriter(path, 16);
        writer.Append(rows);
        writer.Complete();
        return path;
    }

    [Fact]
    public void Cli_TrainAndEval_RefuseOneNaNAmongAllValues_BeforeAnyStep()
    {
        string data = Activations(float.NaN, 3217, 9), sae = Path.Combine(Dir, "s.saeckpt");
        var e = Assert.Throws<CliException>(() => SaeCli.Invoke(["train", "--data", data, "--steps", "3", "--batch", "64", "--latents", "32", "--k", "3", "--out", sae], TextWriter.Null));
        Assert.Contains("row 3217, column 9 is NaN", e.Message);
        Assert.Contains("x.npy", e.Message);
        Assert.False(File.Exists(sae));
        Assert.Equal(0, SaeCli.Invoke(["train", "--steps", "3", "--batch", "64", "--d", "16", "--latents", "32", "--k", "3", "--out", sae], TextWriter.Null));
        Assert.Contains("row 3217, column 9 is NaN", Assert.Throws<CliException>(() => SaeCli.Invoke(["eval", "--sae", sae, "--data", data], TextWriter.Null)).Message);
    }

    [Fact]
    public void FileActivations_SkipNonFinite_LeavesOutExactlyTheBadRows_InOrderAndShuffled()
    {
        string data = Activations(float.NaN, 17, 3);
        var all = new float[4000 * 16];
        using (var plain = new FileActivations(data, new FileActivationOptions(ShuffleBuffer: 1))) plain.ReadInOrder(all);
        using var files = new FileActivations(data, new FileActivationOptions(ShuffleBuffer: 256, SkipNonFinite: true));
        Assert.Equal((1L, 3999L), (files.SkippedRows, files.TotalRows));
        var inOrder = new float[4000 * 16];
        Assert.Equal(3999, files.ReadInOrder(inOrder));
        Assert.Equal([.. all[..(17 * 16)], .. all[(18 * 16)..]], inOrder[..(3999 * 16)]);
        var batch = new float[8000 * 16];
        files.NextBatch(batch);   // two passes over the stream, through the shuffle buffer
        Assert.Equal(-1, Finite.IndexOfNonFinite(batch));
    }

    [Fact]
    public void Cli_NonFiniteSkip_TrainsAndEvaluates_ReportingTheRowsLeftOut()
    {
        string data = Activations(float.PositiveInfinity, 2500, 0), sae = Path.Combine(Dir, "s.saeckpt");
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["train", "--data", data, "--nonfinite", "skip", "--steps", "3", "--batch", "64", "--latents", "32", "--k", "3", "--out", sae], output));
        Assert.Contains("Skipping 1 of 4000 rows that hold NaN or ±Inf", output.ToString());
        output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["eval", "--sae", sae, "--data", data, "--nonfinite", "skip", "--json"], output));
        var metrics = System.Text.Json.JsonDocument.Parse(output.ToString().Trim().Split('\n')[^1]).RootElement;
        Assert.True(double.IsFinite(metrics.GetProperty("fvu").GetDouble()));
        Assert.Equal(3999, metrics.GetProperty("tokens").GetInt64());
    }

    [Fact]
    public void FileActivations_FindNonFinite_FindsTheFirstInFileOrder()
    {
        string data = Activations(float.NegativeInfinity, 3999, 15);
        using var files = new FileActivations(data, new FileActivationOptions(ShuffleBuffer: 1));
        Assert.Equal((data, 3999L, 15, float.NegativeInfinity), files.FindNonFinite());
    }

    [Fact]
    public void DivergingRun_StopsWithoutOverwritingTheLastCheckpoint()
    {
        string outPath = Path.Combine(Dir, "run.saeckpt");
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: 16, Features: 24));
        using (var good = TrainingRun.Start(new SaeConfig(16, 32, 3), new TrainConfig(BatchSize: 64, Steps: 4), data, new TrainingRunOptions(outPath, CheckpointEvery: 2)))
            good.Run(cancellationToken: TestContext.Current.CancellationToken);
        byte[] saved = File.ReadAllBytes(outPath);
        using var run = TrainingRun.Start(new SaeConfig(16, 32, 3), new TrainConfig(BatchSize: 64, Steps: 50, LearningRate: 1e38, WarmupSteps: 0),
            data, new TrainingRunOptions(outPath, CheckpointEvery: 1));
        var e = Assert.Throws<TrainingDivergedException>(() => run.Run(cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("is kept", e.Message);
        Assert.Equal(saved, File.ReadAllBytes(outPath));
    }
}
