using System.Text;
using System.Text.Json;

namespace SaeGpu;

/// <summary>
/// The one exception every SaeGpu reader throws for a malformed or mismatched file (.npy, safetensors, SAELens and sparsify
/// folders, <c>.saeckpt</c> checkpoints, training states, sparse codes, ITDA dictionaries): it names the file and, where
/// known, the byte offset or field, and what was expected there. Message: <c>'PATH' [field F] [at byte N]: PROBLEM</c>.
/// A missing file is a <see cref="FileNotFoundException"/> instead; any other exception from a reader is a bug in SaeGpu.
/// Sizes a file declares are checked in 64-bit checked arithmetic against the file's real length before anything is
/// allocated, so a hostile header fails fast with this exception rather than allocating or overflowing. It derives from
/// <see cref="IOException"/> (as <see cref="FileNotFoundException"/> does; <see cref="InvalidDataException"/> is sealed), so
/// one <c>catch (IOException)</c> handles every problem with a file.
/// </summary>
public sealed class SaeFormatException : IOException
{
    /// <summary>A problem <paramref name="problem"/> in the file <paramref name="path"/>, optionally at <paramref name="offset"/> or in <paramref name="field"/>.</summary>
    public SaeFormatException(string path, string problem, long? offset = null, string? field = null, Exception? inner = null)
        : base(Compose(path, problem, offset, field), inner)
    {
        (FilePath, Problem, Offset, Field) = (path, problem, offset, field);
    }

    /// <summary>The file (or folder) that is malformed.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong and what was expected, without the file name.</summary>
    public string Problem { get; }

    /// <summary>The byte offset of the problem, when known.</summary>
    public long? Offset { get; }

    /// <summary>The header field or tensor name of the problem, when known.</summary>
    public string? Field { get; }

    private static string Compose(string path, string problem, long? offset, string? field)
    {
        var s = new StringBuilder().Append('\'').Append(path).Append('\'');
        if (field is not null) s.Append(" field '").Append(field).Append('\'');
        if (offset is not null) s.Append(" at byte ").Append(offset.Value);
        return s.Append(": ").Append(problem).ToString();
    }

    /// <summary>
    /// Runs <paramref name="read"/> on the file <paramref name="path"/>, turning the exceptions that a truncated or garbled
    /// stream raises inside .NET's own parsers (end of stream, a bad 7-bit length or number, malformed JSON or UTF-8, a
    /// checked size that overflows) into a <see cref="SaeFormatException"/> naming the file. Exceptions that signal a bug
    /// (null dereference, index out of range, division by zero, out of memory) pass through unchanged.
    /// </summary>
    internal static T Guard<T>(string path, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is EndOfStreamException or JsonException or FormatException or DecoderFallbackException or OverflowException)
        {
            throw new SaeFormatException(path, Describe(e), inner: e);
        }
    }

    private static string Describe(Exception e) => e switch
    {
        EndOfStreamException => "the file ends early (truncated).",
        OverflowException => "a size in the header overflows 64-bit arithmetic.",
        _ => e.Message,
    };
}
