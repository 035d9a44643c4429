using System.Text.RegularExpressions;
using SaeGpu.Cli;
using SaeGpu.Examples;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Docs;

/// <summary>
/// The README cannot rot: each ```csharp block is a region of ReadmeExamples.cs word for word, and every example runs here
/// on synthetic data with known features; docs/cli.md's reference is the help each command generates.
/// </summary>
public partial class ReadmeTests : TempDirectory
{
    private const int D = 32;

    [Fact]
    public void EveryReadmeCSharpBlock_IsAnExampleRegion_WordForWord()
    {
        string readme = File.ReadAllText(RepoFiles.Path("README.md"));
        var regions = RegionPattern().Matches(File.ReadAllText(RepoFiles.Path("tests/PackageConsumer/ReadmeExamples.cs")))
            .ToDictionary(m => m.Groups["name"].Value, m => Dedent(m.Groups["body"].Value));
        var blocks = ReadmeBlockPattern().Matches(readme).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["body"].Value.TrimEnd());

        Assert.Equal(["encode", "step", "train"], regions.Keys.Order());
        Assert.Equal(regions.Keys.Order(), blocks.Keys.Order());
        Assert.Equal(Regex.Count(readme, "```csharp"), blocks.Count);   // no unmarked (untested) C# block
        foreach (var (name, code) in regions) Assert.Equal(code, blocks[name]);
    }

    /// <summary>
    /// docs/cli.md's command reference is the help <c>sae</c> generates from its option definitions, command by command; with
    /// SAEGPU_UPDATE_DOCS=1 the test rewrites the section instead of failing.
    /// </summary>
    [Fact]
    public void CliDoc_IsTheGeneratedHelpOfEveryCommand()
    {
        string path = RepoFiles.Path("docs/cli.md");
        string doc = File.ReadAllText(path).ReplaceLineEndings("\n");
        Match section = GeneratedPattern().Match(doc);
        Assert.True(section.Success, "docs/cli.md has no '<!-- generated: sae help' … '<!-- end generated -->' section.");
        string expected = "\n" + string.Join("\n", Commands(SaeCli.Create(TextWriter.Null)).Select(HelpSection));
        if (Environment.GetEnvironmentVariable("SAEGPU_UPDATE_DOCS") == "1")
            File.WriteAllText(path, doc[..section.Groups["body"].Index] + expected + doc[(section.Groups["body"].Index + section.Groups["body"].Length)..]);
        else
            Assert.True(expected == section.Groups["body"].Value,
                "docs/cli.md's command reference differs from sae's help; regenerate it: SAEGPU_UPDATE_DOCS=1 dotnet test SaeGpu.sln -c Release --filter CliDoc");
    }

    // Every command, depth first, as its words: [] (the root), ["train"], …, ["itda"], ["itda", "build"], …
    private static IEnumerable<string[]> Commands(System.CommandLine.Command command, string[]? path = null)
    {
        path ??= [];
        yield return path;
        foreach (var sub in command.Subcommands)
            foreach (var words in Commands(sub, [.. path, sub.Name])) yield return words;
    }

    private static string HelpSection(string[] words)
    {
        var help = new StringWriter();
        Assert.Equal(0, SaeCli.Run([.. words, "--help"], help, TextWriter.Null));
        var lines = help.ToString().ReplaceLineEndings("\n").Split('\n').Select(l => l.TrimEnd());
        return $"### {string.Join(' ', ["sae", .. words])}\n\n```text\n{string.Join("\n", lines).Trim('\n')}\n```\n";
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

    private static string Dedent(string body)
    {
        string[] lines = body.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()));
    }

    [GeneratedRegex(@"<!-- generated: sae help[^\n]*\n[^\n]*-->\n(?<body>.*?)<!-- end generated -->", RegexOptions.Singleline)]
    private static partial Regex GeneratedPattern();

    [GeneratedRegex(@"^[ \t]*#region readme:(?<name>\S+)\r?\n(?<body>.*?)^[ \t]*#endregion", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex RegionPattern();

    [GeneratedRegex(@"<!-- example: (?<name>\S+) -->\r?\n```csharp\r?\n(?<body>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ReadmeBlockPattern();
}
