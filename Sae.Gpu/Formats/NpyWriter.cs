using System.Text;
using SaeGpu.Formats;

namespace SaeGpu;

/// <summary>
/// Writes a C-order <c>.npy</c> file (format 1.0) row by row when the row count is not known in advance: the header is
/// rewritten with the final shape by <see cref="Complete"/>, and the file appears at its path only then (temporary file +
/// rename). Disposing without completing deletes the temporary file.
/// </summary>
public sealed class NpyWriter : IDisposable
{
    private const int HeaderBytes = 128;
    private readonly string path, tmp;
    private readonly FileStream stream;
    private readonly ElementType type;
    private readonly int columns;
    private bool completed;

    /// <summary>Starts <paramref name="path"/> for rows of <paramref name="columns"/> float32 values (activations [N, d]).</summary>
    public NpyWriter(string path, int columns) : this(path, columns, ElementType.Float32) { }

    /// <summary>Starts <paramref name="path"/> for rows of <paramref name="columns"/> int32 values (e.g. token ids).</summary>
    public static NpyWriter ForInt32(string path, int columns) => new(path, columns, ElementType.Int32);

    /// <summary>Starts <paramref name="path"/> for rows of <paramref name="columns"/> float32 or int32 values.</summary>
    internal NpyWriter(string path, int columns, ElementType type)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        if (type is not (ElementType.Float32 or ElementType.Int32)) throw new ArgumentException($"NpyWriter writes float32 or int32, not {type}.");
        (this.path, this.columns, this.type) = (System.IO.Path.GetFullPath(path), columns, type);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(this.path)!);
        AtomicFile.RemoveStale(this.path);
        tmp = AtomicFile.TemporaryPath(this.path, Environment.ProcessId);
        stream = new FileStream(tmp, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        stream.Write(Header(0));
    }

    /// <summary>Rows written so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Appends float32 rows [n, columns].</summary>
    public void Append(ReadOnlySpan<float> rows) => AppendBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(rows), rows.Length, ElementType.Float32);

    /// <summary>Appends int32 rows [n, columns].</summary>
    public void Append(ReadOnlySpan<int> rows) => AppendBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(rows), rows.Length, ElementType.Int32);

    private void AppendBytes(ReadOnlySpan<byte> bytes, int count, ElementType given)
    {
        if (given != type) throw new ArgumentException($"This writer holds {type} values, not {given}.");
        if (count % columns != 0) throw new ArgumentException($"{count} values are not whole rows of {columns}.");
        stream.Write(bytes);
        Rows += count / columns;
    }

    /// <summary>Writes the final header, flushes to disk and moves the file into place.</summary>
    public void Complete()
    {
        stream.Position = 0;
        stream.Write(Header(Rows));
        stream.Flush(flushToDisk: true);
        stream.Dispose();
        File.Move(tmp, path, overwrite: true);
        completed = true;
    }

    /// <summary>Closes the writer; without <see cref="Complete"/> the partial file is deleted.</summary>
    public void Dispose()
    {
        if (completed) return;
        stream.Dispose();
        if (File.Exists(tmp)) File.Delete(tmp);
    }

    // Format 1.0 header padded with spaces to 128 bytes (a multiple of 64), ending in '\n'.
    private byte[] Header(long rows)
    {
        string descr = type == ElementType.Float32 ? "<f4" : "<i4";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {columns}), }}";
        var header = new byte[HeaderBytes];
        Magic.CopyTo(header, 0);
        (header[6], header[7]) = (1, 0);
        BitConverter.GetBytes((ushort)(HeaderBytes - 10)).CopyTo(header, 8);
        var text = Encoding.Latin1.GetBytes(dict.PadRight(HeaderBytes - 11) + "\n");
        text.CopyTo(header, 10);
        return header;
    }

    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
}
