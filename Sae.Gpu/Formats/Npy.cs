using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace SaeGpu.Formats;

/// <summary>Element types SaeGpu reads from and writes to <c>.npy</c> and safetensors files.</summary>
internal enum ElementType
{
    /// <summary>IEEE float32 (npy <c>&lt;f4</c>, safetensors F32).</summary>
    Float32,

    /// <summary>IEEE float16 (npy <c>&lt;f2</c>, safetensors F16).</summary>
    Float16,

    /// <summary>bfloat16 (safetensors BF16; not an npy type).</summary>
    BFloat16,

    /// <summary>int32 (npy <c>&lt;i4</c>, safetensors I32), e.g. token ids.</summary>
    Int32,
}

/// <summary>
/// A <c>.npy</c> file (NumPy format 1.0, 2.0 or 3.0) opened for streaming reads of rows: a C-order array of shape [rows] or
/// [rows, columns] of float32, float16 or int32, little-endian. The header is validated when the file is opened (magic,
/// version, dtype, order, shape, and that the data fills the file exactly); errors name the file.
/// Rows are read on demand, so files larger than memory work.
/// </summary>
internal sealed partial class NpyFile : IDisposable
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];
    // NumPy itself refuses headers over 10,000 bytes; a bounded header also bounds the regex scans over it.
    private const int MaxHeaderBytes = 1 << 16;
    private readonly FileStream stream;

    private NpyFile(string path, FileStream stream, ElementType type, long rows, int columns, int dimensions, long dataOffset)
    {
        (Path, this.stream, Type, Rows, Columns, Dimensions, DataOffset) = (path, stream, type, rows, columns, dimensions, dataOffset);
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Element type of the data.</summary>
    public ElementType Type { get; }

    /// <summary>Rows (the first dimension).</summary>
    public long Rows { get; }

    /// <summary>Columns (the second dimension; 1 for a 1-D array).</summary>
    public int Columns { get; }

    /// <summary>Dimensions of the array: 1 for [rows], 2 for [rows, columns].</summary>
    public int Dimensions { get; }

    /// <summary>Byte offset of the first element.</summary>
    public long DataOffset { get; }

    /// <summary>Bytes per element.</summary>
    public int ElementSize => SizeOf(Type);

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="SaeFormatException"/> naming the file and problem.</summary>
    public static NpyFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Activation file '{path}' does not exist.", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        try
        {
            var (type, dims, offset) = ReadHeader(stream, path);
            long bytes = DeclaredSize.Bytes(path, dims, SizeOf(type), "shape");
            if (stream.Length - offset != bytes)
                throw new SaeFormatException(path, $"shape ({string.Join(", ", dims)}) of {type} needs {bytes} bytes after the {offset}-byte header, but the file has {stream.Length - offset}.");
            return new NpyFile(path, stream, type, dims[0], dims.Length == 2 ? (int)dims[1] : 1, dims.Length, offset);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads rows [start, start + destination.Length / Columns) as float32 into <paramref name="destination"/>.</summary>
    public void ReadRows(long start, Span<float> destination)
    {
        if (destination.Length % Columns != 0 || start < 0 || start + destination.Length / Columns > Rows)
            throw new ArgumentException($"'{Path}': cannot read {destination.Length} values from row {start} of ({Rows}, {Columns}).");
        if (Type == ElementType.Int32) throw new SaeFormatException(Path, "holds int32 values, not activations.");
        ReadConverted(stream, DataOffset + start * Columns * ElementSize, Type, destination, Path);
    }

    /// <summary>Reads all int32 values (e.g. token ids) of an int32 file.</summary>
    public int[] ReadInt32()
    {
        if (Type != ElementType.Int32) throw new SaeFormatException(Path, $"holds {Type} values, not int32.");
        var values = new int[DeclaredSize.ArrayLength(Path, Rows * Columns, "the int32 array")];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan());
        if (RandomAccess.Read(stream.SafeFileHandle, bytes, DataOffset) != bytes.Length) throw new SaeFormatException(Path, "the file ends early (truncated).");
        return values;
    }

    /// <summary>The open file's handle (for positional reads).</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle Handle => stream.SafeFileHandle;

    /// <summary>Closes the file.</summary>
    public void Dispose() => stream.Dispose();

    /// <summary>Bytes per element of <paramref name="type"/>.</summary>
    public static int SizeOf(ElementType type) => type is ElementType.Float32 or ElementType.Int32 ? 4 : 2;

    /// <summary>Reads elements of <paramref name="type"/> at <paramref name="offset"/> of <paramref name="stream"/> as float32.</summary>
    internal static void ReadConverted(FileStream stream, long offset, ElementType type, Span<float> destination, string path)
    {
        int size = SizeOf(type);
        var bytes = new byte[Math.Min(destination.Length, 1 << 18) * size];
        for (int done = 0; done < destination.Length;)
        {
            int n = Math.Min(destination.Length - done, bytes.Length / size);
            var chunk = bytes.AsSpan(0, n * size);
            if (RandomAccess.Read(stream.SafeFileHandle, chunk, offset + (long)done * size) != chunk.Length)
                throw new SaeFormatException(path, "the file ends early (truncated).", offset + (long)done * size);
            Convert(chunk, type, destination.Slice(done, n));
            done += n;
        }
    }

    private static void Convert(ReadOnlySpan<byte> bytes, ElementType type, Span<float> destination)
    {
        switch (type)
        {
            case ElementType.Float32:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).CopyTo(destination);
                break;
            case ElementType.Float16:
                var halves = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < destination.Length; i++) destination[i] = (float)halves[i];
                break;
            case ElementType.BFloat16:
                var raw = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < destination.Length; i++) destination[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                break;
            default:
                throw new ArgumentException($"{type} values are not activations.", nameof(type));
        }
    }

    private static (ElementType Type, long[] Dims, long Offset) ReadHeader(FileStream s, string path)
    {
        var prefix = new byte[8];
        if (s.ReadAtLeast(prefix, 8, throwOnEndOfStream: false) != 8 || !prefix.AsSpan(0, 6).SequenceEqual(Magic))
            throw new SaeFormatException(path, "not a .npy file (missing magic \\x93NUMPY).", 0);
        int major = prefix[6];
        if (major is < 1 or > 3) throw new SaeFormatException(path, $"unsupported .npy format version {major}.{prefix[7]} (supported: 1, 2, 3).", 6);
        var lenBytes = new byte[major == 1 ? 2 : 4];
        if (s.ReadAtLeast(lenBytes, lenBytes.Length, throwOnEndOfStream: false) != lenBytes.Length)
            throw new SaeFormatException(path, $"the file ends inside the header length ({8 + lenBytes.Length} bytes needed, {s.Length} present).", 8);
        long headerLength = major == 1 ? BitConverter.ToUInt16(lenBytes) : BitConverter.ToUInt32(lenBytes);
        long offset = 8 + lenBytes.Length + headerLength;
        if (offset > s.Length) throw new SaeFormatException(path, $"the header of {headerLength} bytes runs past the end of the file ({s.Length} bytes).", 8);
        if (headerLength > MaxHeaderBytes) throw new SaeFormatException(path, $"the header claims {headerLength} bytes; a .npy header has at most {MaxHeaderBytes}.", 8);
        var header = new byte[headerLength];
        s.ReadExactly(header);
        string text = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(header);
        return ParseHeader(text, path, offset);
    }

    private static (ElementType, long[], long) ParseHeader(string text, string path, long offset)
    {
        var descr = DescrPattern().Match(text);
        var order = OrderPattern().Match(text);
        var shape = ShapePattern().Match(text);
        if (!descr.Success || !order.Success || !shape.Success)
            throw new SaeFormatException(path, $"header '{Shorten(text.Trim())}' lacks descr, fortran_order or shape.", 8);
        if (order.Groups[1].Value != "False") throw new SaeFormatException(path, "is in Fortran order; only C order is supported.", field: "fortran_order");
        var type = descr.Groups[1].Value switch
        {
            "<f4" => ElementType.Float32,
            "<f2" => ElementType.Float16,
            "<i4" => ElementType.Int32,
            var other => throw new SaeFormatException(path, $"dtype '{Shorten(other)}' is not supported; supported: '<f4' (float32), '<f2' (float16), '<i4' (int32).", field: "descr"),
        };
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : -1).ToArray();
        if (dims.Length is < 1 or > 2 || dims.Any(n => n < 0) || (dims.Length == 2 && dims[1] is < 1 or > int.MaxValue))
            throw new SaeFormatException(path, $"shape ({Shorten(shape.Groups[1].Value)}) is not (rows,) or (rows, columns) with 1 ≤ columns < 2^31.", field: "shape");
        return (type, dims, offset);
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..77] + "...";

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex OrderPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
