using System.Diagnostics;
using System.IO.Hashing;
using System.Runtime.ExceptionServices;

namespace SaeGpu.Tests.Fuzz;

/// <summary>Settings of a <see cref="Fuzzer"/>.</summary>
/// <param name="WorkDirectory">Where inputs are written for the readers (one folder per format).</param>
/// <param name="SaveDirectory">Where reproducers go: <c>&lt;format&gt;/&lt;hash&gt;.bin</c>, or <c>&lt;hash&gt;.&lt;seed&gt;.&lt;file&gt;</c> for a file of a folder format.</param>
public sealed record FuzzOptions(string WorkDirectory, string SaveDirectory)
{
    /// <summary>One input read for longer than this is a <see cref="FuzzOutcome.Hang"/>.</summary>
    public TimeSpan HangAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>An input still being read after this never returns, as far as the fuzzer is concerned: the loop is abandoned.</summary>
    public TimeSpan AbandonAfter { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Time for one format's loop, minimization included; the loop is abandoned (and the test fails) past it.</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromMinutes(8);

    /// <summary>Time to minimize one failure.</summary>
    public TimeSpan MinimizeFor { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The index of the first mutant (mutant i is rebuilt from its format name and i alone): another value fuzzes other inputs.</summary>
    public int FirstInput { get; init; }

    /// <summary>Distinct failures per format that are minimized; later distinct ones are saved as they are.</summary>
    public int MaxFindings { get; init; } = 10;

    /// <summary>The managed bytes a read of <paramref name="inputBytes"/> may allocate: 16 × the input + 64 MiB.</summary>
    public static long AllowedBytes(long inputBytes) => 16 * inputBytes + (64L << 20);
}

/// <summary>
/// Runs mutated inputs through a <see cref="FuzzTarget"/>'s reader on a dedicated thread that a supervisor watches: each
/// read is classified (<see cref="FuzzOutcome"/>), each distinct failure (by <see cref="FuzzResult.Signature"/>) is
/// minimized and its reproducer saved, and an input that never returns abandons the loop instead of hanging the test.
/// </summary>
public sealed class Fuzzer(FuzzOptions options)
{
    // The input being read right now, for the supervisor.
    private sealed record InFlight(FuzzSeed Seed, byte[] Bytes, long Started, string? Reproducer);

    private volatile InFlight? inFlight;
    private FuzzSeed? materialized;

    /// <summary>Reads <paramref name="inputs"/> mutants of <paramref name="target"/>'s seeds (input i is rebuilt from its format name and i alone).</summary>
    public FuzzReport Run(FuzzTarget target, int inputs) => Supervise(target, report =>
    {
        var seen = new HashSet<string>();
        for (int i = options.FirstInput; i < options.FirstInput + inputs && !report.Stopped; i++)
        {
            var (seed, bytes, fixedUp) = Input(target, i);
            var result = Execute(target, seed, bytes);
            if (report.Stopped) break; // abandoned while this input ran: the supervisor has moved on
            report.Add(result.Outcome);
            if (!result.IsFailure || !seen.Add(result.Signature)) continue;
            report.Add(seen.Count <= options.MaxFindings ? Minimized(target, seed, bytes, fixedUp, result, $"input {i}")
                : new FuzzFinding(target.Name, result.Outcome, result, Save(target, seed, bytes), $"input {i}, not minimized (over {options.MaxFindings} distinct failures)"));
        }
    });

    /// <summary>Reads each of <paramref name="files"/> (reproducers named as this fuzzer saves them) and reports every failure.</summary>
    public FuzzReport Replay(FuzzTarget target, IEnumerable<string> files) => Supervise(target, report =>
    {
        foreach (string file in files)
        {
            var result = Execute(target, SeedFor(target, Path.GetFileName(file)), File.ReadAllBytes(file), file);
            report.Add(result.Outcome);
            if (result.IsFailure) report.Add(new FuzzFinding(target.Name, result.Outcome, result, file, "regression file"));
        }
    });

    /// <summary>Mutant <paramref name="index"/> of <paramref name="target"/>: its seed, its bytes, and whether the seed's fix-up was applied.</summary>
    public static (FuzzSeed Seed, byte[] Bytes, bool FixedUp) Input(FuzzTarget target, int index)
    {
        var rng = Mutator.RandomFor(target.Name, index);
        var seed = target.Seeds[rng.Next(target.Seeds.Count)];
        var mates = target.Seeds.Where(s => s.FileName == seed.FileName).ToArray();
        var bytes = Mutator.Mutate(seed, mates[rng.Next(mates.Length)], rng);
        bool fixUp = seed.Fixup is not null && rng.Next(2) == 0;
        return (seed, fixUp ? seed.Fixup!(bytes) : bytes, fixUp);
    }

    /// <summary>Writes <paramref name="bytes"/> as <paramref name="seed"/>'s file (its companions beside it) and reads it once.</summary>
    public FuzzResult Execute(FuzzTarget target, FuzzSeed seed, byte[] bytes, string? reproducer = null)
    {
        string path = Materialize(target, seed, bytes);
        long inputBytes = bytes.Length + seed.Others.Values.Sum(b => (long)b.Length);
        inFlight = new InFlight(seed, bytes, Stopwatch.GetTimestamp(), reproducer);
        long allocated = GC.GetAllocatedBytesForCurrentThread(), started = Stopwatch.GetTimestamp();
        Exception? error = null;
        try { target.Read(path); }
        catch (Exception e) { error = e; }
        var elapsed = Stopwatch.GetElapsedTime(started);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        inFlight = null;
        return new FuzzResult(Classify(error, elapsed, allocated, inputBytes), error, elapsed, allocated);
    }

    /// <summary>The seed a reproducer named <paramref name="fileName"/> replaces a file of (the first seed for <c>&lt;hash&gt;.bin</c>).</summary>
    public static FuzzSeed SeedFor(FuzzTarget target, string fileName)
    {
        string rest = fileName[(fileName.IndexOf('.') + 1)..];
        return rest == "bin" ? target.Seeds[0]
            : target.Seeds.FirstOrDefault(s => rest == $"{s.Name}.{s.FileName}") ?? throw new ArgumentException($"'{fileName}' names no seed of {target.Name}.");
    }

    private FuzzOutcome Classify(Exception? error, TimeSpan elapsed, long allocated, long inputBytes) =>
        error is not (null or SaeFormatException) ? FuzzOutcome.Bug
        : elapsed > options.HangAfter ? FuzzOutcome.Hang
        : allocated > FuzzOptions.AllowedBytes(inputBytes) ? FuzzOutcome.OverAllocation
        : error is null ? FuzzOutcome.Accepted : FuzzOutcome.Rejected;

    // Runs `loop` on its own thread; abandons it when an input runs past AbandonAfter or the budget is spent.
    private FuzzReport Supervise(FuzzTarget target, Action<FuzzReport> loop)
    {
        var report = new FuzzReport(target.Name);
        ExceptionDispatchInfo? crash = null;
        var thread = new Thread(() =>
        {
            try { loop(report); }
            catch (Exception e) { crash = ExceptionDispatchInfo.Capture(e); }
        }) { IsBackground = true, Name = $"fuzz {target.Name}" };
        var clock = Stopwatch.StartNew();
        thread.Start();
        while (!thread.Join(50))
        {
            if (inFlight is { } stuck && Stopwatch.GetElapsedTime(stuck.Started) > options.AbandonAfter) Abandon(target, report, stuck);
            else if (clock.Elapsed > options.Budget) report.Abandon($"the budget of {options.Budget} ran out after {report.Inputs} inputs.");
            if (report.Stopped) break;
        }
        report.Elapsed = clock.Elapsed;
        crash?.Throw(); // a bug of the fuzzer itself
        return report;
    }

    private void Abandon(FuzzTarget target, FuzzReport report, InFlight stuck)
    {
        string why = $"an input was still being read after {options.AbandonAfter.TotalSeconds:F0} s; its thread is left behind.";
        var result = new FuzzResult(FuzzOutcome.Hang, null, Stopwatch.GetElapsedTime(stuck.Started), 0);
        report.Add(new FuzzFinding(target.Name, FuzzOutcome.Hang, result, stuck.Reproducer ?? Save(target, stuck.Seed, stuck.Bytes), why));
        report.Abandon(why);
    }

    // Minimizes a failing input (re-applying the seed's fix-up to every candidate) and saves it.
    private FuzzFinding Minimized(FuzzTarget target, FuzzSeed seed, byte[] bytes, bool fixedUp, FuzzResult failure, string label)
    {
        byte[] Prepare(byte[] candidate) => fixedUp ? seed.Fixup!(candidate) : candidate;
        var smallest = Prepare(Minimizer.Minimize(bytes, c => Execute(target, seed, Prepare(c)).Signature == failure.Signature, options.MinimizeFor));
        var result = Execute(target, seed, smallest);
        if (result.Signature != failure.Signature) (smallest, result) = (bytes, failure); // flaky under minimization: keep the original
        return new FuzzFinding(target.Name, result.Outcome, result, Save(target, seed, smallest),
            $"{label} of {bytes.Length} bytes (seed '{seed.Name}'{(fixedUp ? ", checksum recomputed" : "")}), minimized to {smallest.Length}");
    }

    private string Save(FuzzTarget target, FuzzSeed seed, byte[] bytes)
    {
        string hash = $"{XxHash64.HashToUInt64(bytes):x16}"[..12];
        string dir = Directory.CreateDirectory(Path.Combine(options.SaveDirectory, target.Name)).FullName;
        string path = Path.Combine(dir, seed.Others.Count == 0 ? $"{hash}.bin" : $"{hash}.{seed.Name}.{seed.FileName}");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    // The target's folder holds the seed's companions (rewritten when the seed changes) and the input as the seed's file.
    private string Materialize(FuzzTarget target, FuzzSeed seed, byte[] bytes)
    {
        string dir = Path.Combine(options.WorkDirectory, target.Name);
        if (!ReferenceEquals(seed, materialized))
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            foreach (var (name, content) in seed.Others) File.WriteAllBytes(Path.Combine(dir, name), content);
            materialized = seed;
        }
        string path = Path.Combine(dir, seed.FileName);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
