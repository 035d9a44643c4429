using System.Text;

namespace SaeGpu.Tests.Fuzz;

/// <summary>
/// What a <see cref="Fuzzer"/> run over one format found: counts per outcome, the distinct failures, and whether the loop
/// was abandoned (an input that never returned, or the time budget ran out). Thread-safe: the fuzzing thread records,
/// the supervising thread may stop it.
/// </summary>
public sealed class FuzzReport(string format)
{
    private readonly int[] counts = new int[Enum.GetValues<FuzzOutcome>().Length];
    private readonly List<FuzzFinding> findings = [];
    private readonly Lock gate = new();

    /// <summary>The format's name.</summary>
    public string Format => format;

    /// <summary>Inputs read (and counted).</summary>
    public int Inputs { get { lock (gate) return counts.Sum(); } }

    /// <summary>The distinct failures, in the order found.</summary>
    public IReadOnlyList<FuzzFinding> Findings { get { lock (gate) return [.. findings]; } }

    /// <summary>Why the loop stopped early, or null.</summary>
    public string? Abandoned { get; private set; }

    /// <summary>True once the loop must stop (it was abandoned).</summary>
    public bool Stopped { get { lock (gate) return Abandoned is not null; } }

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; set; }

    /// <summary>Inputs with <paramref name="outcome"/>.</summary>
    public int Count(FuzzOutcome outcome) { lock (gate) return counts[(int)outcome]; }

    /// <summary>Counts one input's outcome (ignored once stopped).</summary>
    public void Add(FuzzOutcome outcome) { lock (gate) if (Abandoned is null) counts[(int)outcome]++; }

    /// <summary>Records a failure (kept even after the stop: the supervisor records the abandoned input this way).</summary>
    public void Add(FuzzFinding finding) { lock (gate) findings.Add(finding); }

    /// <summary>Stops the loop, saying why.</summary>
    public void Abandon(string why) { lock (gate) Abandoned ??= why; }

    /// <summary>Everything that fails the test: each finding, and the reason the loop was abandoned.</summary>
    public IEnumerable<string> Problems => Findings.Select(f => f.ToString()).Concat(Abandoned is { } a ? [$"[{Format}] loop abandoned: {a}"] : []);

    /// <summary>A markdown table of <paramref name="reports"/>: one row per format, one column per outcome, and the time.</summary>
    public static string Markdown(IReadOnlyList<FuzzReport> reports)
    {
        var outcomes = Enum.GetValues<FuzzOutcome>();
        var s = new StringBuilder($"| format | inputs | {string.Join(" | ", outcomes)} | seconds |\n");
        s.Append($"|---|---:|{string.Concat(outcomes.Select(_ => "---:|"))}---:|\n");
        void Row(string name, int inputs, IEnumerable<int> counts, TimeSpan elapsed) =>
            s.Append($"| {name} | {inputs} | {string.Join(" | ", counts)} | {elapsed.TotalSeconds:F1} |\n");
        foreach (var r in reports) Row(r.Format, r.Inputs, outcomes.Select(r.Count), r.Elapsed);
        Row("**all**", reports.Sum(r => r.Inputs), outcomes.Select(o => reports.Sum(r => r.Count(o))), reports.Aggregate(TimeSpan.Zero, (t, r) => t + r.Elapsed));
        return s.ToString();
    }
}
