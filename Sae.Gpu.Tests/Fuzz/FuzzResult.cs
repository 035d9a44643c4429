using System.Diagnostics;
using System.Text;

namespace SaeGpu.Tests.Fuzz;

/// <summary>What reading one input did.</summary>
public enum FuzzOutcome
{
    /// <summary>The reader succeeded.</summary>
    Accepted,

    /// <summary>The reader threw <see cref="SaeFormatException"/>: the documented refusal.</summary>
    Rejected,

    /// <summary>The reader threw any other exception: a bug.</summary>
    Bug,

    /// <summary>The reader took longer than <see cref="FuzzOptions.HangAfter"/> for one input.</summary>
    Hang,

    /// <summary>The reader allocated more than <see cref="FuzzOptions.AllowedBytes"/> for the input's size.</summary>
    OverAllocation,
}

/// <summary>The result of reading one input: its outcome, the exception (if any), the time and the bytes allocated.</summary>
/// <param name="Outcome">Bug beats Hang beats OverAllocation beats Accepted/Rejected.</param>
/// <param name="Error">The exception the reader threw, or null.</param>
/// <param name="Elapsed">Wall time of the read.</param>
/// <param name="AllocatedBytes">Managed bytes allocated by the reading thread.</param>
public sealed record FuzzResult(FuzzOutcome Outcome, Exception? Error, TimeSpan Elapsed, long AllocatedBytes)
{
    /// <summary>True for Bug, Hang and OverAllocation.</summary>
    public bool IsFailure => Outcome is FuzzOutcome.Bug or FuzzOutcome.Hang or FuzzOutcome.OverAllocation;

    /// <summary>
    /// The outcome, the exception's type and its top stack frame: what tells distinct failures apart, and what minimization
    /// must keep. (Not the first SaeGpu frame: whether a small library method shows up in a stack trace depends on when the
    /// JIT inlines it, which would make findings differ from run to run.)
    /// </summary>
    public string Signature => Error is null ? Outcome.ToString() : $"{Outcome} {Error.GetType().FullName} at {TopFrame(Error)}";

    /// <summary><paramref name="e"/>'s innermost frame as <c>Namespace.Type.Method</c>.</summary>
    public static string TopFrame(Exception e) => Frames(e).FirstOrDefault() ?? "(no stack)";

    /// <summary>The first frame of <paramref name="e"/> inside SaeGpu's library code (not the tests), or null.</summary>
    public static string? LibraryFrame(Exception e) =>
        Frames(e).FirstOrDefault(f => f.StartsWith("SaeGpu.", StringComparison.Ordinal) && !f.StartsWith("SaeGpu.Tests.", StringComparison.Ordinal));

    private static IEnumerable<string> Frames(Exception e) =>
        new StackTrace(e, fNeedFileInfo: false).GetFrames().Select(f => f.GetMethod()).OfType<System.Reflection.MethodBase>()
            .Select(m => $"{m.DeclaringType?.FullName}.{m.Name}");
}

/// <summary>A distinct failure of one format and where its (minimized) reproducer was written.</summary>
/// <param name="Format">The format's name.</param>
/// <param name="Outcome">Bug, Hang or OverAllocation.</param>
/// <param name="Result">The failing read (of the minimized input where minimization ran).</param>
/// <param name="Reproducer">The file holding the input.</param>
/// <param name="Note">What else is known (input index and sizes, or why the loop was abandoned).</param>
public sealed record FuzzFinding(string Format, FuzzOutcome Outcome, FuzzResult Result, string Reproducer, string Note)
{
    /// <summary>One line: format, outcome, exception type, message, top frame (and first library frame), reproducer, note.</summary>
    public override string ToString()
    {
        var s = new StringBuilder($"[{Format}] {Outcome}");
        if (Result.Error is { } e)
        {
            s.Append($": {e.GetType().FullName}: {OneLine(e.Message)} | top frame {FuzzResult.TopFrame(e)}");
            if (FuzzResult.LibraryFrame(e) is { } lib && lib != FuzzResult.TopFrame(e)) s.Append($" | in SaeGpu {lib}");
        }
        return s.Append($" | {Result.Elapsed.TotalMilliseconds:F0} ms, {Result.AllocatedBytes:N0} B allocated | reproducer {Reproducer} | {Note}").ToString();
    }

    private static string OneLine(string text)
    {
        string line = text.ReplaceLineEndings(" ");
        return line.Length > 300 ? line[..297] + "..." : line;
    }
}
