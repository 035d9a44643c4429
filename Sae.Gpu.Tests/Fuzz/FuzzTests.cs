using System.Diagnostics;
using System.Text;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Fuzz;

/// <summary>
/// The fuzz tier: every file reader, for any bytes, succeeds or throws <see cref="SaeFormatException"/> — promptly and
/// without allocating far beyond the input. Mutants of seeds written by SaeGpu's own writers (<see cref="FuzzFormats"/>)
/// go through each reader; each distinct failure is minimized and saved. With SAEGPU_FUZZ_SAVE=1 reproducers go to
/// Sae.Gpu.Tests/Fuzz/Regressions/&lt;format&gt;/ (replayed by <see cref="Regressions_AreAcceptedOrRejected"/>), otherwise to a
/// temporary folder printed in the output; SAEGPU_FUZZ_REPORT names a file for the markdown table of outcomes;
/// SAEGPU_FUZZ_FIRST=N starts at mutant N instead of 0 (CI fuzzes the same inputs every run; this fuzzes new ones).
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output) : TempDirectory
{
    /// <summary>Inputs per format in the Stress tier.</summary>
    public const int StressInputs = 40_000;

    /// <summary>Inputs per format in the fast tier.</summary>
    public const int SmokeInputs = 300;

    private const string RegressionFolder = "Sae.Gpu.Tests/Fuzz/Regressions";

    /// <summary>The formats' names, one theory case each.</summary>
    public static TheoryData<string> Formats => new(FuzzFormats.Names);

    [Fact]
    [Trait("Category", "Stress")]
    public void EveryReader_SucceedsOrThrowsSaeFormatException_OnMutatedFiles() =>
        FuzzAll(StressInputs, budget: TimeSpan.FromMinutes(8), minimizeFor: TimeSpan.FromSeconds(10));

    [Fact]
    public void EveryReader_SucceedsOrThrowsSaeFormatException_OnMutatedFiles_Smoke() =>
        FuzzAll(SmokeInputs, budget: TimeSpan.FromMinutes(2), minimizeFor: TimeSpan.FromSeconds(3));

    [Theory]
    [MemberData(nameof(Formats))]
    public void Regressions_AreAcceptedOrRejected(string format)
    {
        string dir = RepoFiles.Path(Path.Combine(RegressionFolder, format));
        string[] files = Directory.Exists(dir) ? [.. Directory.GetFiles(dir).Order(StringComparer.Ordinal)] : [];
        if (files.Length == 0) return; // nothing found for this format yet
        var report = new Fuzzer(Options()).Replay(FuzzFormats.Get(format), files);
        Assert.True(!report.Problems.Any(), string.Join("\n", report.Problems));
        Assert.Equal(files.Length, report.Inputs);
    }

    private void FuzzAll(int inputs, TimeSpan budget, TimeSpan minimizeFor)
    {
        var clock = Stopwatch.StartNew();
        int first = int.TryParse(Environment.GetEnvironmentVariable("SAEGPU_FUZZ_FIRST"), out int n) ? n : 0;
        var fuzzer = new Fuzzer(Options() with { Budget = budget, MinimizeFor = minimizeFor, FirstInput = first });
        var reports = FuzzFormats.Names.Select(name => fuzzer.Run(FuzzFormats.Get(name), inputs)).ToList();
        string summary = Summary(reports, $"mutants {first}..{first + inputs - 1} of each format", clock.Elapsed);
        output.WriteLine(summary);
        if (Environment.GetEnvironmentVariable("SAEGPU_FUZZ_REPORT") is { Length: > 0 } file) File.WriteAllText(file, summary);
        var problems = reports.SelectMany(r => r.Problems).ToList();
        Assert.True(problems.Count == 0, $"{problems.Count} failures (reproducers in {SaveDirectory()}):\n{string.Join("\n", problems.Take(10))}");
        Assert.All(reports, r => Assert.Equal(inputs, r.Inputs));
    }

    private static string Summary(IReadOnlyList<FuzzReport> reports, string inputs, TimeSpan elapsed)
    {
        var s = new StringBuilder($"## SaeGpu fuzz tier: {inputs}, {elapsed.TotalSeconds:F0} s in all (seeds and minimization included)\n\n");
        s.Append(FuzzReport.Markdown(reports)).Append($"\nReproducers: {SaveDirectory()}\n");
        foreach (string problem in reports.SelectMany(r => r.Problems)) s.Append($"\n- {problem}");
        return s.Append('\n').ToString();
    }

    private FuzzOptions Options() => new(Path.Combine(Dir, "work"), SaveDirectory());

    private static string SaveDirectory() => Environment.GetEnvironmentVariable("SAEGPU_FUZZ_SAVE") == "1"
        ? RepoFiles.Path(RegressionFolder)
        : Path.Combine(Path.GetTempPath(), "saegpu-fuzz-reproducers");
}
