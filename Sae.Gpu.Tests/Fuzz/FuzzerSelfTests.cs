using System.Text;
using System.Text.Json;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Fuzz;

/// <summary>The fuzzer's own checks can fail: fake readers that misbehave are reported as such, and mutation is reproducible.</summary>
public sealed class FuzzerSelfTests : TempDirectory
{
    private static readonly byte[] Xs = [.. Enumerable.Repeat((byte)'X', 200)];

    private Fuzzer NewFuzzer(TimeSpan? hangAfter = null, TimeSpan? abandonAfter = null, TimeSpan? budget = null) =>
        new(new FuzzOptions(Path.Combine(Dir, "work"), Path.Combine(Dir, "saved"))
        {
            HangAfter = hangAfter ?? TimeSpan.FromSeconds(2),
            AbandonAfter = abandonAfter ?? TimeSpan.FromSeconds(20),
            Budget = budget ?? TimeSpan.FromMinutes(1),
            MinimizeFor = TimeSpan.FromSeconds(2),
        });

    private static FuzzTarget Fake(Action<string> read) => new("fake", [new FuzzSeed("xs", "input.bin", Xs)], read);

    [Fact]
    public void AReaderThrowingAnotherException_IsABug_MinimizedAndSaved()
    {
        var report = NewFuzzer().Run(Fake(path =>
        {
            if (File.ReadAllBytes(path).Contains((byte)'X')) throw new InvalidOperationException("boom");
            throw new SaeFormatException(path, "no X");
        }), inputs: 20);
        Assert.Equal(20, report.Count(FuzzOutcome.Bug) + report.Count(FuzzOutcome.Rejected));
        var bug = Assert.Single(report.Findings);
        Assert.Equal(FuzzOutcome.Bug, bug.Outcome);
        Assert.IsType<InvalidOperationException>(bug.Result.Error);
        Assert.Equal("X"u8.ToArray(), File.ReadAllBytes(bug.Reproducer)); // minimized to the one byte that matters
        Assert.Equal(Path.Combine(Dir, "saved", "fake"), Path.GetDirectoryName(bug.Reproducer));
    }

    [Fact]
    public void ASlowReader_IsAHang()
    {
        var report = NewFuzzer(hangAfter: TimeSpan.FromMilliseconds(20)).Run(Fake(_ => Thread.Sleep(60)), inputs: 3);
        Assert.Equal(3, report.Count(FuzzOutcome.Hang));
        Assert.Equal(FuzzOutcome.Hang, Assert.Single(report.Findings).Outcome);
    }

    [Fact]
    public void AReaderThatNeverReturns_IsAbandonedAsAHang_WithItsInputSaved()
    {
        using var release = new ManualResetEventSlim();
        try
        {
            var report = NewFuzzer(abandonAfter: TimeSpan.FromMilliseconds(300)).Run(Fake(_ => release.Wait()), inputs: 5);
            Assert.NotNull(report.Abandoned);
            Assert.Equal(0, report.Inputs);
            var hang = Assert.Single(report.Findings);
            Assert.Equal(FuzzOutcome.Hang, hang.Outcome);
            Assert.True(File.Exists(hang.Reproducer));
        }
        finally { release.Set(); }
    }

    [Fact]
    public void ALoopPastItsBudget_IsAbandoned()
    {
        var report = NewFuzzer(budget: TimeSpan.FromMilliseconds(300)).Run(Fake(_ => Thread.Sleep(20)), inputs: 10_000);
        Assert.Contains("budget", report.Abandoned);
        Assert.InRange(report.Inputs, 1, 9_999);
    }

    [Fact]
    public void AReaderAllocatingFarBeyondItsInput_IsAnOverAllocation()
    {
        var report = NewFuzzer().Run(Fake(_ => GC.KeepAlive(new byte[FuzzOptions.AllowedBytes(1 << 20)])), inputs: 2);
        Assert.Equal(2, report.Count(FuzzOutcome.OverAllocation));
        Assert.Equal(FuzzOutcome.OverAllocation, Assert.Single(report.Findings).Outcome);
    }

    [Fact]
    public void SucceedingAndSaeFormatExceptionReaders_AreAcceptedAndRejected_WithoutFindings()
    {
        var accepted = NewFuzzer().Run(Fake(_ => { }), inputs: 10);
        var rejected = NewFuzzer().Run(Fake(path => throw new SaeFormatException(path, "bad")), inputs: 10);
        Assert.Equal((10, 10), (accepted.Count(FuzzOutcome.Accepted), rejected.Count(FuzzOutcome.Rejected)));
        Assert.Empty(accepted.Problems.Concat(rejected.Problems));
    }

    [Fact]
    public void Mutants_AreReproducibleFromFormatAndIndex_AndMostlyDifferFromTheirSeed()
    {
        var target = FuzzFormats.Get("saelens-cfg");
        var mutants = Enumerable.Range(0, 200).Select(i => Fuzzer.Input(target, i)).ToList();
        Assert.All(mutants.Select((m, i) => (m, again: Fuzzer.Input(target, i))), p => Assert.Equal(p.m.Bytes, p.again.Bytes));
        Assert.True(mutants.Count(m => !m.Bytes.AsSpan().SequenceEqual(m.Seed.Bytes)) > 180, "most mutants should differ from their seed");
        Assert.True(mutants.Select(m => Convert.ToHexString(m.Bytes)).Distinct().Count() > 150, "mutants should be diverse");
    }

    [Fact]
    public void JsonMutator_MakesDuplicateKeys_DeletesKeys_AndReplacesValues()
    {
        var json = """{"a": 1, "b": [2, 3], "c": {"d": "x"}}"""u8.ToArray();
        var edits = Enumerable.Range(0, 300).Select(i => JsonMutator.Mutate(json, new Random(i))).ToList();
        Assert.All(edits, e => Assert.NotNull(e));
        Assert.Contains(edits, e => !Parses(e!)); // a duplicate key: valid JSON syntax that strict parsing refuses
        Assert.Contains(edits, e => Parses(e!) && Encoding.UTF8.GetString(e!).Contains("null"));
        Assert.Contains(edits, e => Parses(e!) && TopLevelKeys(e!) == 2); // a key deleted
        Assert.Null(JsonMutator.Mutate("{not json"u8.ToArray(), new Random(0)));
    }

    [Theory]
    [InlineData("saestate")]
    [InlineData("saeckpt")]
    [InlineData("saelens-weights")]
    public void SomeMutants_EditTheEmbeddedJson_AndKeepItValid(string format)
    {
        var target = FuzzFormats.Get(format);
        int edited = Enumerable.Range(0, 1000).Select(i => Fuzzer.Input(target, i)).Count(m =>
            Mutator.EmbeddedJson(m.Bytes, m.Seed.Kind) is { } json && Parses(json) && !json.AsSpan().SequenceEqual(Mutator.EmbeddedJson(m.Seed.Bytes, m.Seed.Kind)));
        Assert.True(edited >= 50, $"{edited} of 1000 mutants carry a changed but valid JSON header");
    }

    [Theory]
    [InlineData("saeckpt", 12)]          // the low byte of the last float before the 8-byte trailer
    [InlineData("saestate", 16)]         // the low byte of the last metric (a double) before the trailer
    [InlineData("saelens-weights", 4)]   // the low byte of the last float of the data section
    [InlineData("sparsify", 4)]
    public void Fixups_LetAChangedChecksummedFileThroughToItsParser(string format, int fromEnd)
    {
        var target = FuzzFormats.Get(format);
        var seed = target.Seeds.First(s => s.Fixup is not null);
        var changed = (byte[])seed.Bytes.Clone();
        changed[^fromEnd] ^= 1;
        var fuzzer = NewFuzzer();
        Assert.Equal(FuzzOutcome.Accepted, fuzzer.Execute(target, seed, seed.Bytes).Outcome);
        Assert.Equal(FuzzOutcome.Rejected, fuzzer.Execute(target, seed, changed).Outcome);
        Assert.Equal(FuzzOutcome.Accepted, fuzzer.Execute(target, seed, seed.Fixup!(changed)).Outcome);
    }

    [Theory]
    [MemberData(nameof(FuzzTests.Formats), MemberType = typeof(FuzzTests))]
    public void EverySeed_IsAccepted_AndNamesItsReproducers(string format)
    {
        var target = FuzzFormats.Get(format);
        var fuzzer = NewFuzzer();
        foreach (var seed in target.Seeds)
        {
            var result = fuzzer.Execute(target, seed, seed.Bytes);
            Assert.True(result.Outcome == FuzzOutcome.Accepted, $"seed '{seed.Name}' ({seed.FileName}): {result.Outcome} {result.Error}");
            if (seed.Others.Count > 0) Assert.Same(seed, Fuzzer.SeedFor(target, $"0123456789ab.{seed.Name}.{seed.FileName}"));
        }
        Assert.Same(target.Seeds[0], Fuzzer.SeedFor(target, "0123456789ab.bin"));
    }

    private static int TopLevelKeys(byte[] json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.EnumerateObject().Count() : -1;
    }

    private static bool Parses(byte[] json)
    {
        try
        {
            using var _ = JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
            return true;
        }
        catch (JsonException) { return false; }
    }
}
