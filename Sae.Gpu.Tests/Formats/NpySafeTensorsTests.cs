using System.Text;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Formats;

/// <summary>.npy and safetensors: fixtures written byte by byte to the published specs, round trips and clear errors.</summary>
public class NpySafeTensorsTests : TempDirectory
{
    // NumPy format 1.0: magic, version, uint16 header length, a Python dict literal padded with spaces to a 64-byte boundary and '\n'.
    private static byte[] NpyFixture(string descr, string shape, byte[] data, string order = "False", byte major = 1)
    {
        string dict = $"{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}";
        int lenBytes = major == 1 ? 2 : 4, total = (8 + lenBytes + dict.Length + 1 + 63) / 64 * 64;
        var header = Encoding.ASCII.GetBytes(dict.PadRight(total - 8 - lenBytes - 1) + "\n");
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0 };
        bytes.AddRange(major == 1 ? BitConverter.GetBytes((ushort)header.Length) : BitConverter.GetBytes((uint)header.Length));
        bytes.AddRange(header);
        bytes.AddRange(data);
        return [.. bytes];
    }

    private static byte[] Floats(params float[] v) => [.. v.SelectMany(BitConverter.GetBytes)];

    private string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(Dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void Npy_ReadsFloat32Rows_FromAHandWrittenFile()
    {
        string path = Write("a.npy", NpyFixture("<f4", "(3, 2)", Floats(1, 2, 3, 4, 5, 6)));
        using var f = NpyFile.Open(path);
        Assert.Equal((3L, 2, ElementType.Float32), (f.Rows, f.Columns, f.Type));
        var rows = new float[4];
        f.ReadRows(1, rows);
        Assert.Equal([3f, 4, 5, 6], rows);
    }

    [Fact]
    public void Npy_ReadsFloat16_AsFloat32_InFormatVersion2()
    {
        byte[] data = [.. new[] { (Half)0.5f, (Half)(-2f), (Half)1024f }.SelectMany(h => BitConverter.GetBytes(h))];
        using var f = NpyFile.Open(Write("h.npy", NpyFixture("<f2", "(3,)", data, major: 2)));
        var v = new float[3];
        f.ReadRows(0, v);
        Assert.Equal([0.5f, -2f, 1024f], v);
        Assert.Equal(1, f.Columns);
    }

    [Theory]
    [InlineData("<f8", "(2, 2)", "dtype '<f8'")]
    [InlineData("<f4", "(2, 3)", "needs")]
    [InlineData("<f4", "(2, 2, 1)", "shape")]
    public void Npy_RejectsBadHeaders_NamingTheFile(string descr, string shape, string mention)
    {
        string path = Write("bad.npy", NpyFixture(descr, shape, Floats(1, 2, 3, 4)));
        var e = Assert.Throws<SaeFormatException>(() => NpyFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(mention, e.Message);
    }

    [Fact]
    public void Npy_RejectsFortranOrder() =>
        Assert.Contains("Fortran", Assert.Throws<SaeFormatException>(() => NpyFile.Open(Write("f.npy", NpyFixture("<f4", "(2, 2)", Floats(1, 2, 3, 4), "True")))).Message);

    [Fact]
    public void Npy_RejectsForeignFiles() =>
        Assert.Contains("not a .npy file", Assert.Throws<SaeFormatException>(() => NpyFile.Open(Write("x.npy", Encoding.ASCII.GetBytes("hello world")))).Message);

    [Fact]
    public void NpyWriter_StreamsRows_AndNumPysHeaderRulesHold()
    {
        string path = Path.Combine(Dir, "w.npy");
        using (var w = new NpyWriter(path, 3))
        {
            w.Append([1f, 2, 3]);
            w.Append([4f, 5, 6, 7, 8, 9]);
            Assert.False(File.Exists(path), "the file must appear only when complete");
            w.Complete();
        }
        var bytes = File.ReadAllBytes(path);
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        Assert.Equal(0, (10 + headerLength) % 64);
        Assert.Equal((byte)'\n', bytes[10 + headerLength - 1]);
        using var f = NpyFile.Open(path);
        var all = new float[9];
        f.ReadRows(0, all);
        Assert.Equal([1f, 2, 3, 4, 5, 6, 7, 8, 9], all);
    }

    [Fact]
    public void NpyWriter_WithoutComplete_LeavesNoFile()
    {
        string path = Path.Combine(Dir, "partial.npy");
        using (var w = NpyWriter.ForInt32(path, 2)) w.Append([1, 2]);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(Dir));
    }

    // Safetensors: uint64 header length, JSON header, data; written by hand here.
    private string SafeTensorsFixture(string json, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(json);
        return Write("t.safetensors", [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. data]);
    }

    [Fact]
    public void SafeTensors_ReadsF32AndF16Tensors_AndMetadata_FromAHandWrittenFile()
    {
        byte[] f16 = [.. new[] { (Half)1.5f, (Half)(-0.25f) }.SelectMany(h => BitConverter.GetBytes(h))];
        string path = SafeTensorsFixture(
            """{"__metadata__":{"format":"pt"},"W":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]}}""",
            [.. Floats(1, 2, 3, 4), .. f16]);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
        Assert.Equal([1f, 2, 3, 4], f.ReadFloats("W"));
        Assert.Equal([1.5f, -0.25f], f.ReadFloats("b"));
        var row = new float[2];
        f.ReadRows("W", 1, row);
        Assert.Equal([3f, 4], row);
    }

    [Theory]
    [InlineData("""{"W":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}""", "needs 16 bytes")]
    [InlineData("""{"W":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}""", "dtype 'F64'")]
    [InlineData("""{"W":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"V":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", "overlap another")]
    [InlineData("""not json""", "not valid JSON")]
    public void SafeTensors_RejectsBadHeaders_NamingTheFile(string json, string mention)
    {
        string path = SafeTensorsFixture(json, Floats(1, 2, 3, 4));
        var e = Assert.Throws<SaeFormatException>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(mention, e.Message);
    }

    [Fact]
    public void SafeTensors_WriteThenOpen_RoundTrips_WithAlignedHeader()
    {
        string path = Path.Combine(Dir, "rt.safetensors");
        SafeTensorsFile.Write(path, [("a", [2, 3], [1f, 2, 3, 4, 5, 6]), ("b", [1], [7f])], new Dictionary<string, string> { ["k"] = "v" });
        Assert.Equal(0, BitConverter.ToInt64(File.ReadAllBytes(path), 0) % 8);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal([2L, 3], f.Get("a").Shape);
        Assert.Equal([1f, 2, 3, 4, 5, 6], f.ReadFloats("a"));
        Assert.Equal([7f], f.ReadFloats("b"));
        Assert.Equal("v", f.Metadata["k"]);
        Assert.Contains("no tensor 'c'", Assert.Throws<SaeFormatException>(() => f.Get("c")).Message);
    }
}
