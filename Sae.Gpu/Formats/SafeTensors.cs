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
internal sealed record SafeTensorInfo(string Name, ElementType Type, IReadOnlyList<long> Shape, long Begin, long End)
{
    /// <summary>Number of elements (product of the shape; 1 for a scalar).</summary>
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// A safetensors file (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
/// mapping names to {dtype, shape, data_offsets} (plus optional "__metadata__" of strings), then the data. Opening validates
/// the header: known dtypes (F32, F16, BF16, I32), offsets inside the data, sizes equal to dtype·shape, no overlaps, and
/// the data filling the file. Tensors are read on demand (rows of a 2-D tensor can be streamed). Errors name the file.
/// </summary>
internal sealed class SafeTensorsFile : IDisposable
{
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

    /// <summary>Opens and validates <paramref name="path"/>; throws <see cref="InvalidDataException"/> naming the file and problem.</summary>
    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Safetensors file '{path}' does not exist.", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.RandomAccess);
        try
        {
            var lengthBytes = new byte[8];
            if (stream.Read(lengthBytes) != 8) throw new InvalidDataException($"'{path}' is too short to be a safetensors file.");
            ulong n = BitConverter.ToUInt64(lengthBytes);
            if (n > (ulong)(stream.Length - 8) || n > 100_000_000) throw new InvalidDataException($"'{path}': header length {n} does not fit the file of {stream.Length} bytes.");
            var header = new byte[n];
            stream.ReadExactly(header);
            var (tensors, metadata) = ParseHeader(header, path);
            long dataOffset = 8 + (long)n, dataLength = stream.Length - dataOffset;
            CheckLayout(tensors.Values, dataLength, path);
            return new SafeTensorsFile(path, stream, tensors, dataOffset, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The entry of <paramref name="name"/>; throws <see cref="InvalidDataException"/> naming the file when it is missing.</summary>
    public SafeTensorInfo Get(string name) => tensors.TryGetValue(name, out var t) ? t
        : throw new InvalidDataException($"'{Path}' has no tensor '{name}' (it has: {string.Join(", ", tensors.Keys)}).");

    /// <summary>All elements of tensor <paramref name="name"/> as float32.</summary>
    public float[] ReadFloats(string name)
    {
        var t = Get(name);
        var values = new float[t.Count];
        NpyFile.ReadConverted(stream, DataOffset + t.Begin, t.Type, values, Path);
        return values;
    }

    /// <summary>Rows [start, start + destination.Length / columns) of the 2-D tensor <paramref name="name"/> as float32.</summary>
    public void ReadRows(string name, long start, Span<float> destination)
    {
        var t = Get(name);
        if (t.Shape.Count != 2) throw new InvalidDataException($"'{Path}': tensor '{name}' has {t.Shape.Count} dimensions; rows need 2.");
        long columns = t.Shape[1];
        if (destination.Length % columns != 0 || start < 0 || start + destination.Length / columns > t.Shape[0])
            throw new ArgumentException($"'{Path}': cannot read {destination.Length} values from row {start} of '{name}' [{t.Shape[0]}, {columns}].");
        NpyFile.ReadConverted(stream, DataOffset + t.Begin + start * columns * NpyFile.SizeOf(t.Type), t.Type, destination, Path);
    }

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
        var header = new JsonObject();
        if (metadata is { Count: > 0 }) header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
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
        JsonObject root;
        try { root = JsonNode.Parse(header)?.AsObject() ?? throw new InvalidDataException($"'{path}': the header is not a JSON object."); }
        catch (Exception e) when (e is JsonException or InvalidOperationException) { throw new InvalidDataException($"'{path}': the header is not valid JSON ({e.Message})."); }
        var tensors = new Dictionary<string, SafeTensorInfo>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in root)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node?.AsObject() ?? []) metadata[k] = v?.ToString() ?? "";
                continue;
            }
            tensors[name] = ParseEntry(name, node, path);
        }
        return (tensors, metadata);
    }

    private static SafeTensorInfo ParseEntry(string name, JsonNode? node, string path)
    {
        try
        {
            var o = node!.AsObject();
            var type = (string?)o["dtype"] switch
            {
                "F32" => ElementType.Float32,
                "F16" => ElementType.Float16,
                "BF16" => ElementType.BFloat16,
                "I32" => ElementType.Int32,
                var other => throw new InvalidDataException($"'{path}': tensor '{name}' has dtype '{other}'; supported: F32, F16, BF16, I32."),
            };
            long[] shape = [.. o["shape"]!.AsArray().Select(v => (long)v!)];
            var offsets = o["data_offsets"]!.AsArray();
            if (offsets.Count != 2 || shape.Any(s => s < 0)) throw new InvalidDataException($"'{path}': tensor '{name}' has a bad shape or data_offsets.");
            return new SafeTensorInfo(name, type, shape, (long)offsets[0]!, (long)offsets[1]!);
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"'{path}': tensor '{name}' lacks dtype, shape or data_offsets ({e.Message}).");
        }
    }

    private static void CheckLayout(IEnumerable<SafeTensorInfo> tensors, long dataLength, string path)
    {
        long covered = 0, previousEnd = 0;
        foreach (var t in tensors.OrderBy(t => t.Begin))
        {
            if (t.Begin < previousEnd || t.End < t.Begin || t.End > dataLength)
                throw new InvalidDataException($"'{path}': tensor '{t.Name}' at bytes [{t.Begin}, {t.End}) overlaps another or lies outside the data ({dataLength} bytes).");
            if (t.End - t.Begin != t.Count * NpyFile.SizeOf(t.Type))
                throw new InvalidDataException($"'{path}': tensor '{t.Name}' of shape [{string.Join(", ", t.Shape)}] {t.Type} needs {t.Count * NpyFile.SizeOf(t.Type)} bytes, not {t.End - t.Begin}.");
            covered += t.End - t.Begin;
            previousEnd = t.End;
        }
        if (covered != dataLength) throw new InvalidDataException($"'{path}': tensors cover {covered} of the {dataLength} data bytes.");
    }
}
