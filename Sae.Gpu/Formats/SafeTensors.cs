using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SaeGpu.Formats;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="Type">Element type.</param>
/// <param name="Shape">Dimensions (row-major).</param>
/// <param name="Begin">Start of its bytes, relative to the end of the header.</param>
/// <param name="End">End of its bytes (exclusive), relative to the end of the header.</param>
/// <param name="Count">Number of elements (product of the shape, checked when the header is parsed; 1 for a scalar).</param>
internal sealed record SafeTensorInfo(string Name, ElementType Type, IReadOnlyList<long> Shape, long Begin, long End, long Count);

/// <summary>
/// A safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
/// mapping names to {dtype, shape, data_offsets} (plus optional "__metadata__" of strings), then the data. Opening validates
/// the header: known dtypes (F32, F16, BF16, I32), offsets inside the data, sizes equal to dtype·shape (checked 64-bit
/// arithmetic), no overlaps, and the data filling the file. Files SaeGpu writes carry the XxHash64 of their data section in
/// <c>__metadata__.saegpu_xxh64</c> (16 hex digits), which opening verifies when present. Tensors are read on demand (rows
/// of a 2-D tensor can be streamed). Every malformed file is refused with a <see cref="SaeFormatException"/> naming it.
/// </summary>
internal sealed class SafeTensorsFile : IDisposable
{
    // The safetensors reference implementation refuses headers over 100 MB.
    private const int MaxHeaderBytes = 100_000_000;

    /// <summary>The metadata key of the data section's XxHash64 (16 lowercase hex digits).</summary>
    internal const string ChecksumKey = "saegpu_xxh64";
    private readonly FileStream stream;
    private readonly Dictionary<string, SafeTensorInfo> tensors;

    private SafeTensorsFile(string path, FileStream stream, Dictionary<string, SafeTensorInfo> tensors, long dataOffset,
        IReadOnlyDictionary<string, string> metadata)
    {
        (Path, this.stream, this.tensors, DataOffset, Metadata) = (path, stream, tensors, dataOffset, metadata);
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Byte offset where the data section starts (8 + header length).</summary>
    public long DataOffset { get; }

    /// <summary>The "__metadata__" strings (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors => tensors;

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="SaeFormatException"/> naming the file and problem.</summary>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Safetensors file '{path}' does not exist.", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        try
        {
            var lengthBytes = new byte[8];
            if (stream.ReadAtLeast(lengthBytes, 8, throwOnEndOfStream: false) != 8)
                throw new SaeFormatException(path, $"{stream.Length} bytes is too short for a safetensors file (8-byte header length first).", 0);
            ulong n = BitConverter.ToUInt64(lengthBytes);
            if (n > (ulong)(stream.Length - 8) || n > MaxHeaderBytes)
                throw new SaeFormatException(path, $"header length {n} does not fit the file of {stream.Length} bytes (at most {MaxHeaderBytes}).", 0);
            var header = new byte[n];
            stream.ReadExactly(header);
            var (tensors, metadata) = ParseHeader(header, path);
            long dataOffset = 8 + (long)n, dataLength = stream.Length - dataOffset;
            CheckLayout(tensors.Values, dataLength, path);
            if (metadata.TryGetValue(ChecksumKey, out string? sum)) VerifyData(stream, dataOffset, sum, path);
            return new SafeTensorsFile(path, stream, tensors, dataOffset, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The entry of <paramref name="name"/>; throws <see cref="SaeFormatException"/> naming the file when it is missing.</summary>
    public SafeTensorInfo Get(string name) => tensors.TryGetValue(name, out var t) ? t
        : throw new SaeFormatException(Path, $"has no tensor '{name}' (it has: {string.Join(", ", tensors.Keys.Take(20))}{(tensors.Count > 20 ? ", ..." : "")}).");

    /// <summary>All elements of tensor <paramref name="name"/> as float32.</summary>
    public float[] ReadFloats(string name)
    {
        var t = Get(name);
        if (t.Type == ElementType.Int32) throw new SaeFormatException(Path, "holds int32 values where floats (F32, F16, BF16) are needed.", field: name);
        var values = new float[DeclaredSize.ArrayLength(Path, t.Count, $"tensor '{name}'")];
        NpyFile.ReadConverted(stream, DataOffset + t.Begin, t.Type, values, Path);
        return values;
    }

    /// <summary>Rows [start, start + destination.Length / columns) of the 2-D tensor <paramref name="name"/> as float32.</summary>
    public void ReadRows(string name, long start, Span<float> destination)
    {
        var t = Get(name);
        if (t.Shape.Count != 2) throw new SaeFormatException(Path, $"tensor '{name}' has {t.Shape.Count} dimensions; rows need 2.", field: name);
        long columns = t.Shape[1];
        if (destination.Length % columns != 0 || start < 0 || start + destination.Length / columns > t.Shape[0])
            throw new ArgumentException($"'{Path}': cannot read {destination.Length} values from row {start} of '{name}' [{t.Shape[0]}, {columns}].");
        NpyFile.ReadConverted(stream, DataOffset + t.Begin + start * columns * NpyFile.SizeOf(t.Type), t.Type, destination, Path);
    }

    /// <summary>The open file's handle (for positional reads).</summary>
    public Microsoft.Win32.SafeHandles.SafeFileHandle Handle => stream.SafeFileHandle;

    /// <summary>Closes the file.</summary>
    public void Dispose() => stream.Dispose();

    /// <summary>
    /// Writes float32 tensors (name, shape, data) and optional string metadata to <paramref name="path"/> atomically, in
    /// the given order; the header is padded with spaces to a multiple of 8 bytes.
    /// </summary>
    public static void Write(string path, IEnumerable<(string Name, long[] Shape, float[] Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = tensors.ToList();
        var hash = new System.IO.Hashing.XxHash64();
        foreach (var (_, _, data) in list) hash.Append(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { [ChecksumKey] = $"{hash.GetCurrentHashAsUInt64():x16}" };
        var header = new JsonObject { ["__metadata__"] = new JsonObject(meta.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) };
        long offset = 0;
        foreach (var (name, shape, data) in list)
        {
            if (shape.Aggregate(1L, (a, b) => a * b) != data.Length)
                throw new ArgumentException($"Tensor '{name}' has {data.Length} values but shape [{string.Join(", ", shape)}].");
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray([.. shape.Select(s => (JsonNode?)s)]),
                ["data_offsets"] = new JsonArray(offset, offset + 4L * data.Length),
            };
            offset += 4L * data.Length;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, w =>
        {
            w.Write((ulong)padded);
            w.Write(json);
            for (int i = json.Length; i < padded; i++) w.Write((byte)' ');
            foreach (var (_, _, data) in list) w.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()));
        });
    }

    private static (Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ParseHeader(byte[] header, string path)
    {
        var root = StrictJson.ParseObject(header, path, "the header");
        var tensors = new Dictionary<string, SafeTensorInfo>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in root)
        {
            if (name == "__metadata__")
            {
                var meta = StrictJson.Object(root, name, path);
                foreach (var (k, _) in meta ?? []) metadata[k] = StrictJson.String(meta, k, path) ?? "";
                continue;
            }
            tensors[name] = ParseEntry(name, node as JsonObject ?? throw new SaeFormatException(path, "a tensor entry must be an object with dtype, shape and data_offsets.", field: name), path);
        }
        return (tensors, metadata);
    }

    private static SafeTensorInfo ParseEntry(string name, JsonObject o, string path)
    {
        var type = StrictJson.String(o, "dtype", path) switch
        {
            "F32" => ElementType.Float32,
            "F16" => ElementType.Float16,
            "BF16" => ElementType.BFloat16,
            "I32" => ElementType.Int32,
            var other => throw new SaeFormatException(path, $"dtype '{other}' is not supported; supported: F32, F16, BF16, I32.", field: name),
        };
        long[] shape = Longs(o, "shape", name, path);
        long[] offsets = Longs(o, "data_offsets", name, path);
        if (offsets.Length != 2) throw new SaeFormatException(path, $"data_offsets must be [begin, end], got {offsets.Length} values.", field: name);
        long count = DeclaredSize.Bytes(path, shape, 1, name);
        DeclaredSize.Bytes(path, shape, NpyFile.SizeOf(type), name);
        return new SafeTensorInfo(name, type, shape, offsets[0], offsets[1], count);
    }

    // An array of non-negative integers (a shape or data_offsets).
    private static long[] Longs(JsonObject o, string key, string name, string path)
    {
        var array = StrictJson.Array(o, key, path) ?? throw new SaeFormatException(path, $"the entry lacks '{key}'.", field: name);
        return [.. array.Select(v => v is JsonValue value && value.TryGetValue(out long n) && n >= 0 ? n
            : throw new SaeFormatException(path, $"{key} must hold non-negative integers, got {v?.ToJsonString() ?? "null"}.", field: name))];
    }

    private static void VerifyData(FileStream stream, long dataOffset, string expected, string path)
    {
        string actual = $"{Checksum.Of(stream.SafeFileHandle, dataOffset, stream.Length):x16}";
        if (actual != expected)
            throw new SaeFormatException(path, $"checksum mismatch (XxHash64 {expected} in the metadata, {actual} computed): the data was damaged or changed after it was written.", field: "__metadata__." + ChecksumKey);
    }

    private static void CheckLayout(IEnumerable<SafeTensorInfo> tensors, long dataLength, string path)
    {
        long covered = 0, previousEnd = 0;
        foreach (var t in tensors.OrderBy(t => t.Begin))
        {
            if (t.Begin < previousEnd || t.End < t.Begin || t.End > dataLength)
                throw new SaeFormatException(path, $"bytes [{t.Begin}, {t.End}) overlap another tensor or lie outside the data ({dataLength} bytes).", field: t.Name);
            if (t.End - t.Begin != t.Count * NpyFile.SizeOf(t.Type))
                throw new SaeFormatException(path, $"shape [{string.Join(", ", t.Shape)}] of {t.Type} needs {t.Count * NpyFile.SizeOf(t.Type)} bytes, not {t.End - t.Begin}.", field: t.Name);
            covered += t.End - t.Begin;
            previousEnd = t.End;
        }
        if (covered != dataLength) throw new SaeFormatException(path, $"the tensors cover {covered} of the {dataLength} data bytes.");
    }
}
