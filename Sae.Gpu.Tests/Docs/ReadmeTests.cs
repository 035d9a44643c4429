using System.Text.RegularExpressions;
using SaeGpu.Examples;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Docs;

/// <summary>
/// The README cannot rot: each ```csharp block is a region of ReadmeExamples.cs word for word, and every example runs here
/// on synthetic data with known features; docs/cli.md's block is what <c>sae --help</c> prints.
/// </summary>
public partial class ReadmeTests : TempDirectory
{
    private const int D = 32;

    [Fact]
    public void EveryReadmeCSharpBlock_IsAnExampleRegion_WordForWord()
    {
        string readme = File.ReadAllText(RepoFile("README.md"));
        var regions = RegionPattern().Matches(File.ReadAllText(RepoFile("tests/PackageConsumer/ReadmeExamples.cs")))
            .ToDictionary(m => m.Groups["name"].Value, m => Dedent(m.Groups["body"].Value));
        var blocks = ReadmeBlockPattern().Matches(readme).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["body"].Value.TrimEnd());

        Assert.Equal(["encode", "step", "train"], regions.Keys.Order());
        Assert.Equal(regions.Keys.Order(), blocks.Keys.Order());
        Assert.Equal(Regex.Count(readme, "```csharp"), blocks.Count);   // no unmarked (untested) C# block
        foreach (var (name, code) in regions) Assert.Equal(code, blocks[name]);
    }

    [Fact]
    public void CliDoc_IsWhatSaeHelpPrints()
    {
        var (exit, stdout, stderr) = CliProcess.Run(["--help"]);
        Assert.True(exit == 0, stderr);
        string usage = stdout.ReplaceLineEndings("\n").TrimEnd();
        usage = usage[usage.IndexOf("sae train", StringComparison.Ordinal)..];
        Match block = CliBlockPattern().Match(File.ReadAllText(RepoFile("docs/cli.md")).ReplaceLineEndings("\n"));
        Assert.True(block.Success, "docs/cli.md has no ``` block starting with 'sae train'.");
        Assert.Equal(usage, block.Groups["body"].Value.TrimEnd());
    }

    [Fact]
    public void StepExample_Trains_AndEncodeExample_ReconstructsTheSavedSae()
    {
        var synthetic = new SyntheticOptions(InputDim: D, Features: 64, MeanActive: 3);
        using SparseAutoencoder sae = ReadmeExamples.TrainInYourLoop(Batches(synthetic, 512, 800), D);
        string path = Path.Combine(Dir, "sae");
        sae.Save(path, SaeFormat.SaeLens);

        var heldOut = Batches(synthetic with { StreamSeed = 99 }, 2048, 2).ToList();
        double fvu = ReadmeExamples.EncodeAndDecode(path, heldOut[0]);
        Assert.Equal(sae.Evaluate(heldOut[0]).Fvu, fvu, 1e-6);
        Assert.InRange(fvu, 0, 0.3);   // measured 0.063 after 800 steps of 512 tokens

        int[] counts = ReadmeExamples.CountFirings(path, heldOut);
        Assert.Equal(heldOut.Sum(x => sae.Encode(x).Count), counts.Sum());
    }

    [Fact]
    public void TrainExample_TrainsOnAnNpy_AndResumesAfterCancellation()
    {
        string npy = Path.Combine(Dir, "acts.npy"), output = Path.Combine(Dir, "sae");
        float[] rows = Batches(new SyntheticOptions(InputDim: D, Features: 64, MeanActive: 3), 8192, 1).Single();
        using (var writer = new NpyWriter(npy, D))
        {
            writer.Append(rows);
            writer.Complete();
        }

        TrainingResult stopped = ReadmeExamples.TrainOnNpy(npy, output, steps: 300, new CancellationToken(canceled: true));
        Assert.False(stopped.Completed);
        Assert.True(File.Exists(TrainingRun.StatePath(output)));

        TrainingResult done = ReadmeExamples.TrainOnNpy(npy, output, steps: 300, CancellationToken.None);
        Assert.True(done.Completed);
        Assert.Equal(300, done.StepsTaken);
        Assert.False(File.Exists(TrainingRun.StatePath(output)));
        Assert.InRange(ReadmeExamples.EncodeAndDecode(output, rows), 0, 0.3);   // measured 0.22; on raw rows (scale folded in)
    }

    private static IEnumerable<float[]> Batches(SyntheticOptions options, int rows, int count)
    {
        var source = new SyntheticActivations(options);
        for (int i = 0; i < count; i++)
        {
            var batch = new float[rows * options.InputDim];
            source.NextBatch(batch);
            yield return batch;
        }
    }

    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SaeGpu.sln"))) return Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException($"No SaeGpu.sln above {AppContext.BaseDirectory}.");
    }

    private static string Dedent(string body)
    {
        string[] lines = body.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    [GeneratedRegex(@"^[ \t]*#region readme:(?<name>\S+)\r?\n(?<body>.*?)^[ \t]*#endregion", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex RegionPattern();

    [GeneratedRegex(@"^```\n(?<body>sae train .*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex CliBlockPattern();

    [GeneratedRegex(@"<!-- example: (?<name>\S+) -->\r?\n```csharp\r?\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ReadmeBlockPattern();
}
