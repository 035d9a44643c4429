using SaeGpu.Compute;

namespace SaeGpu.Formats;

/// <summary>
/// Sparse codes on disk: magic <c>SAECODE1</c>, int32 rows B, int32 latents F, int64 nnz, then int32 offsets [B+1],
/// int32 indices [nnz] and float32 values [nnz], little-endian. Written atomically.
/// </summary>
public static class CodesFile
{
    private static readonly byte[] Magic = "SAECODE1"u8.ToArray();

    /// <summary>Writes <paramref name="codes"/> (over <paramref name="latents"/> latents) to <paramref name="path"/>.</summary>
    public static void Save(SparseCodes codes, int latents, string path)
    {
        ArgumentNullException.ThrowIfNull(codes);
        using var writer = new CodesWriter(path, latents);
        writer.Append(codes);
        writer.Complete();
    }

    /// <summary>Writes the SAECODE1 file: header, then the offsets, indices and values streams in that order.</summary>
    internal static void Write(string path, int rows, int latents, long entries, Stream offsets, Stream indices, Stream values) =>
        AtomicFile.Write(path, w =>
        {
            w.Write(Magic);
            w.Write(rows);
            w.Write(latents);
            w.Write(entries);
            w.Flush();
            foreach (var part in new[] { offsets, indices, values })
            {
                part.Position = 0;
                part.CopyTo(w.BaseStream);
            }
        });

    /// <summary>Reads host CSR arrays and F; throws <see cref="InvalidDataException"/> naming the file and problem.</summary>
    public static (int[] Offsets, int[] Indices, float[] Values, int Latents) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Codes file '{path}' does not exist.", path);
        using var r = new BinaryReader(File.OpenRead(path));
        long length = r.BaseStream.Length;
        if (length < Magic.Length + 16 || !r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a sparse codes file (missing magic SAECODE1).");
        int rows = r.ReadInt32(), latents = r.ReadInt32();
        long nnz = r.ReadInt64(), expected = Magic.Length + 16 + 4L * (rows + 1) + 8 * nnz;
        if (rows < 1 || latents < 1 || nnz < 0 || nnz > int.MaxValue || length != expected)
            throw new InvalidDataException($"'{path}' has {length} bytes; header (rows={rows}, F={latents}, nnz={nnz}) needs {expected}.");
        var offsets = new int[rows + 1];
        for (int i = 0; i <= rows; i++) offsets[i] = r.ReadInt32();
        var indices = new int[nnz];
        for (long i = 0; i < nnz; i++) indices[i] = r.ReadInt32();
        var values = new float[nnz];
        for (long i = 0; i < nnz; i++) values[i] = r.ReadSingle();
        bool ordered = offsets[0] == 0 && offsets[rows] == nnz;
        for (int row = 0; row < rows && ordered; row++)
        {
            ordered = offsets[row + 1] >= offsets[row] && offsets[row + 1] <= nnz;
            for (int p = offsets[row]; ordered && p < offsets[row + 1]; p++)
                ordered = indices[p] >= 0 && indices[p] < latents && (p == offsets[row] || indices[p] > indices[p - 1]);
        }
        if (!ordered)
            throw new InvalidDataException($"'{path}': offsets must rise from 0 to nnz = {nnz}, and each row's indices lie in [0, {latents}) in ascending order.");
        return (offsets, indices, values, latents);
    }
}

/// <summary>
/// Streams sparse codes into a <see cref="CodesFile"/> (SAECODE1) batch by batch, so encoding any number of tokens needs
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
        FileStream Temp(string part) => new(Path.Combine(Path.GetDirectoryName(this.path)!, $".{Path.GetFileName(this.path)}.{Environment.ProcessId}.{part}.tmp"),
            FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16, FileOptions.DeleteOnClose);
        (offsets, indices, values) = (Temp("offsets"), Temp("indices"), Temp("values"));
        offsets.Write(BitConverter.GetBytes(0));
    }

    /// <summary>Rows appended so far.</summary>
    public int Rows { get; private set; }

    /// <summary>Entries (non-zero codes) appended so far.</summary>
    public long Entries { get; private set; }

    /// <summary>Appends the rows of <paramref name="codes"/>.</summary>
    public void Append(SparseCodes codes)
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
