namespace SaeGpu.Tests.Fuzz;

/// <summary>How the mutator may read a seed's bytes beyond raw bytes.</summary>
public enum SeedKind
{
    /// <summary>Opaque bytes: byte-level mutations only.</summary>
    Binary,

    /// <summary>A JSON text (e.g. <c>cfg.json</c>): JSON-aware mutations too.</summary>
    Json,

    /// <summary>A safetensors file: JSON-aware mutations of its header (after its 8-byte length) too.</summary>
    SafeTensors,

    /// <summary>
    /// An 8-byte magic, then a JSON text after its 7-bit-encoded length (a <c>.saeckpt</c> v4/v5 config, a SAESTAT3 header):
    /// JSON-aware mutations of that text too.
    /// </summary>
    MagicThenJson,
}

/// <summary>
/// A well-formed input written by SaeGpu's own writers: the file that is mutated (its name inside the folder the reader
/// is given, and its bytes), the files that lie unchanged beside it, and an optional fix-up that re-establishes an
/// integrity check (a checksum) after mutation, so that the parser behind the check is exercised too.
/// </summary>
/// <param name="Name">Names the seed within its format (part of a reproducer's file name when it has companions).</param>
/// <param name="FileName">The mutated file's name inside the reader's folder (readers may dispatch on its extension).</param>
/// <param name="Bytes">The well-formed contents.</param>
/// <param name="Kind">Which structure-aware mutations apply.</param>
/// <param name="Companions">Unchanged files beside it, by name (empty for single-file formats).</param>
/// <param name="Fixup">Recomputes a checksum over mutated bytes (applied to about half the mutants); null when there is none.</param>
public sealed record FuzzSeed(string Name, string FileName, byte[] Bytes, SeedKind Kind = SeedKind.Binary,
    IReadOnlyDictionary<string, byte[]>? Companions = null, Func<byte[], byte[]>? Fixup = null)
{
    /// <summary>The unchanged files beside the mutated one.</summary>
    public IReadOnlyDictionary<string, byte[]> Others => Companions ?? new Dictionary<string, byte[]>();
}

/// <summary>A file format under fuzz: its seeds and the reader, which gets the path of the (mutated) file.</summary>
/// <param name="Name">The format's name (a folder of regression files is named after it).</param>
/// <param name="Seeds">Well-formed inputs to mutate (at least one).</param>
/// <param name="Read">Reads the file at the given path the way the library's users do; must succeed or throw <see cref="SaeFormatException"/>.</param>
public sealed record FuzzTarget(string Name, IReadOnlyList<FuzzSeed> Seeds, Action<string> Read);
