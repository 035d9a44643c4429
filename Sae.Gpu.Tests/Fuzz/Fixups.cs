using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using System.Text.Json.Nodes;
using SaeGpu.Formats;

namespace SaeGpu.Tests.Fuzz;

/// <summary>
/// Re-establish SaeGpu's integrity checks on mutated bytes, so mutants get past the checksum to the parser behind it
/// (each returns its input unchanged when the structure it needs is gone).
/// </summary>
public static class Fixups
{
    private static readonly byte[] ChecksumKey = Encoding.UTF8.GetBytes($"\"{SafeTensorsFile.ChecksumKey}\":\"");

    /// <summary>Rewrites the last 8 bytes as the XxHash64 (little-endian) of all bytes before them (.saeckpt v5, SAESTAT3).</summary>
    public static byte[] Trailer(byte[] bytes)
    {
        if (bytes.Length < Checksum.Size) return bytes;
        var fixedUp = (byte[])bytes.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(fixedUp.AsSpan(^Checksum.Size), XxHash64.HashToUInt64(fixedUp.AsSpan(..^Checksum.Size)));
        return fixedUp;
    }

    /// <summary>Rewrites a safetensors file's <c>__metadata__.saegpu_xxh64</c> (in place: 16 hex digits) as the XxHash64 of its data section.</summary>
    public static byte[] SafeTensorsChecksum(byte[] bytes)
    {
        if (HeaderLength(bytes) is not { } n) return bytes;
        int key = bytes.AsSpan(8, n).IndexOf(ChecksumKey), digits = 8 + key + ChecksumKey.Length;
        if (key < 0 || digits + 16 > 8 + n) return bytes;
        var fixedUp = (byte[])bytes.Clone();
        Encoding.ASCII.GetBytes($"{XxHash64.HashToUInt64(bytes.AsSpan(8 + n)):x16}").CopyTo(fixedUp, digits);
        return fixedUp;
    }

    /// <summary>The safetensors file <paramref name="bytes"/> without its checksum entry (header rewritten, padded to 8 bytes).</summary>
    public static byte[] WithoutSafeTensorsChecksum(byte[] bytes)
    {
        int n = HeaderLength(bytes) ?? throw new ArgumentException("not a safetensors file", nameof(bytes));
        var header = JsonNode.Parse(bytes.AsSpan(8, n))!.AsObject();
        header["__metadata__"]!.AsObject().Remove(SafeTensorsFile.ChecksumKey);
        string text = header.ToJsonString();
        var json = Encoding.UTF8.GetBytes(text.PadRight((text.Length + 7) / 8 * 8));
        return [.. BitConverter.GetBytes((ulong)json.Length), .. json, .. bytes.AsSpan(8 + n)];
    }

    /// <summary>Version 4 of a version 5 checkpoint: magic SAEGPU04, no checksum trailer.</summary>
    public static byte[] CheckpointVersion4(byte[] v5) => [.. "SAEGPU04"u8, .. v5.AsSpan(8, v5.Length - 8 - Checksum.Size)];

    private static int? HeaderLength(byte[] bytes)
    {
        if (bytes.Length < 8) return null;
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        return n <= (ulong)(bytes.Length - 8) ? (int)n : null;
    }
}
