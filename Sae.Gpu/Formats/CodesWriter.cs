using SaeGpu.Formats;

namespace SaeGpu;

/// <summary>
/// Streams sparse codes into a file batch by batch — SAECODE1: magic <c>SAECODE1</c>, int32 rows B, int32 latents F, int64
/// nnz, then int32 offsets [B+1], int32 indices [nnz] and float32 values [nnz], little-endian — so encoding any number of tokens needs
/// memory for one batch only: offsets, indices and values go to three temporary files beside the target, and
/// <see cref="Complete"/> assembles the file atomically (temporary file + rename). Disposing without completing leaves no
/// file. The format's int32 offsets limit a file to 2³¹ − 1 entries; <see cref="Append(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float})"/>
/// refuses a batch that would pass it.
/// </summary>
public sealed class CodesWriter : IDisposable
{
    private readonly string path;
    private readonly int latents;
    private readonly FileStream offsets, indices, values;

    /// <summary>Starts the file <paramref name="path"/> for codes over <paramref name="latents"/> latents.</summary>
    public CodesWriter(string path, int latents)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(latents, 1);
        (this.path, this.latents) = (Path.GetFullPath(path), latents);
        Directory.CreateDirectory(Path.GetDirectoryName(this.path)!);
        AtomicFile.RemoveStale(this.path);
        FileStream Temp(string part) => new(AtomicFile.TemporaryPath(this.path, Environment.ProcessId, part),
            FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        (offsets, indices, values) = (Temp("offsets"), Temp("indices"), Temp("values"));
        offsets.Write(BitConverter.GetBytes(0));
    }

    /// <summary>Rows appended so far.</summary>
    public int Rows { get; private set; }

    /// <summary>Entries (non-zero codes) appended so far.</summary>
    public long Entries { get; private set; }

    /// <summary>Appends the rows of <paramref name="codes"/>.</summary>
    public void Append(SparseBatch codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        Append(codes.Offsets, codes.Indices, codes.Values);
    }

    /// <summary>Appends the rows of device <paramref name="codes"/>.</summary>
    internal void Append(SparseCodes codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        var (o, i, v) = codes.ToHost();
        Append(o, i, v);
    }

    /// <summary>
    /// Appends n rows in CSR form: <paramref name="rowOffsets"/> [n + 1] rising from 0, <paramref name="latentIndices"/> and
    /// <paramref name="codeValues"/> [rowOffsets[n]].
    /// </summary>
    public void Append(ReadOnlySpan<int> rowOffsets, ReadOnlySpan<int> latentIndices, ReadOnlySpan<float> codeValues)
    {
        if (rowOffsets.Length < 1 || rowOffsets[0] != 0 || rowOffsets[^1] != latentIndices.Length || latentIndices.Length != codeValues.Length)
            throw new ArgumentException($"Codes need offsets [n + 1] from 0 to nnz and nnz indices and values; got {rowOffsets.Length} offsets ending at {(rowOffsets.IsEmpty ? 0 : rowOffsets[^1])}, {latentIndices.Length} indices, {codeValues.Length} values.");
        if (Entries + latentIndices.Length > int.MaxValue)
            throw new InvalidOperationException($"'{path}' would hold more than {int.MaxValue} entries, the limit of SAECODE1's int32 offsets; write the codes to several files.");
        foreach (int o in rowOffsets[1..]) offsets.Write(BitConverter.GetBytes((int)(Entries + o)));
        indices.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(latentIndices));
        values.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(codeValues));
        (Rows, Entries) = (Rows + rowOffsets.Length - 1, Entries + latentIndices.Length);
    }

    /// <summary>Writes the file (atomically) from everything appended.</summary>
    public void Complete()
    {
        if (Rows < 1) throw new InvalidOperationException($"No rows were appended to '{path}'.");
        CodesFile.Write(path, Rows, latents, Entries, offsets, indices, values);
    }

    /// <summary>Removes the temporary files.</summary>
    public void Dispose()
    {
        offsets.Dispose();
        indices.Dispose();
        values.Dispose();
    }
}
