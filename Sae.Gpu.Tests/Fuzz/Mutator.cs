using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace SaeGpu.Tests.Fuzz;

/// <summary>
/// Deterministic mutations of a seed: 1–4 stacked steps, each a bit flip, a byte set to 0/0xFF/0x7F/0x80, an int32 or
/// int64 overwrite with a boundary value (mostly aligned), a truncation (often to 0–16 bytes or a few bytes short), appended
/// or inserted random bytes, a deleted or duplicated range, a splice with another seed, or — for JSON texts and the JSON
/// inside safetensors headers, checkpoints and training states (<see cref="SeedKind"/>) — a JSON-aware edit
/// (<see cref="JsonMutator"/>). Input i of a format draws everything from
/// <see cref="RandomFor"/>(format, i), so every mutant can be rebuilt from its name and index.
/// </summary>
public static class Mutator
{
    private static readonly byte[] InterestingBytes = [0, 0xFF, 0x7F, 0x80];
    private static readonly long[] InterestingInts = [0, -1, 1, int.MaxValue, int.MinValue, 1L << 31, 1L << 32, 1L << 60, long.MaxValue];
    private static readonly Func<byte[], Random, byte[]>[] ByteSteps =
        [FlipBit, SetByte, OverwriteInt32, OverwriteInt64, Truncate, Append, DeleteRange, DuplicateRange, InsertRandom];

    /// <summary>The random stream of input <paramref name="index"/> of <paramref name="format"/> (a stable hash of both seeds it).</summary>
    public static Random RandomFor(string format, int index) =>
        new((int)XxHash32.HashToUInt32(Encoding.UTF8.GetBytes($"{format}/{index}")));

    /// <summary>Applies 1–4 mutations to <paramref name="seed"/>'s bytes; <paramref name="partner"/> is spliced in by some.</summary>
    public static byte[] Mutate(FuzzSeed seed, FuzzSeed partner, Random rng)
    {
        var bytes = seed.Bytes;
        for (int steps = rng.Next(1, 5); steps > 0; steps--) bytes = Step(bytes, seed.Kind, partner.Bytes, rng);
        return bytes;
    }

    private static byte[] Step(byte[] bytes, SeedKind kind, byte[] partner, Random rng)
    {
        if (kind != SeedKind.Binary && rng.Next(2) == 0 && JsonStep(bytes, kind, rng) is { } edited) return edited;
        int step = rng.Next(ByteSteps.Length + 1);
        return step < ByteSteps.Length ? ByteSteps[step](bytes, rng) : Splice(bytes, partner, rng);
    }

    // A JSON-aware edit of the whole text, or of the JSON a binary file embeds after its length prefix — rewritten for the
    // new length 3 times in 4, else kept, so that the text's end and the prefix disagree.
    private static byte[]? JsonStep(byte[] bytes, SeedKind kind, Random rng)
    {
        if (kind == SeedKind.Json) return JsonMutator.Mutate(bytes, rng);
        if (Embedded(bytes, kind) is not (var at, var prefix, var length)) return null;
        if (JsonMutator.Mutate(bytes.AsSpan(at + prefix, length).ToArray(), rng) is not { } json) return null;
        byte[] newPrefix = rng.Next(4) == 0 ? bytes[at..(at + prefix)] : LengthPrefix(kind, json.Length);
        return [.. bytes.AsSpan(0, at), .. newPrefix, .. json, .. bytes.AsSpan(at + prefix + length)];
    }

    /// <summary>
    /// The JSON text a file of <paramref name="kind"/> embeds (the whole file for <see cref="SeedKind.Json"/>), or null when
    /// its length prefix does not fit.
    /// </summary>
    public static byte[]? EmbeddedJson(byte[] bytes, SeedKind kind) => kind switch
    {
        SeedKind.Binary => null,
        SeedKind.Json => bytes,
        _ => Embedded(bytes, kind) is var (at, prefix, length) ? bytes[(at + prefix)..(at + prefix + length)] : null,
    };

    // Where the embedded JSON's length prefix starts, the prefix's size and the JSON's length; null when they do not fit.
    private static (int At, int Prefix, int Length)? Embedded(byte[] b, SeedKind kind)
    {
        var (at, prefix, length) = kind == SeedKind.SafeTensors ? SafeTensorsLength(b) : SevenBit(b, 8);
        return length >= 0 && length <= b.Length - at - prefix ? (at, prefix, (int)length) : null;
    }

    // The 8-byte little-endian header length at the start of a safetensors file: (0, 8, its value), value −1 when absent.
    private static (int, int, long) SafeTensorsLength(byte[] b) =>
        (0, 8, b.Length < 8 ? -1 : (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(b), long.MaxValue));

    // A 7-bit-encoded length at `at` (BinaryWriter.Write7BitEncodedInt): (at, its size, its value), value −1 when malformed.
    private static (int, int, long) SevenBit(byte[] b, int at)
    {
        long value = 0;
        for (int i = 0; i < 5 && at + i < b.Length; i++)
        {
            value |= (long)(b[at + i] & 0x7F) << (7 * i);
            if (b[at + i] < 0x80) return (at, i + 1, value);
        }
        return (at, 0, -1);
    }

    private static byte[] LengthPrefix(SeedKind kind, int length)
    {
        if (kind == SeedKind.SafeTensors) return BitConverter.GetBytes((ulong)length);
        using var bytes = new MemoryStream();
        using (var w = new BinaryWriter(bytes)) w.Write7BitEncodedInt(length);
        return bytes.ToArray();
    }

    private static byte[] FlipBit(byte[] b, Random rng) => Edit(b, c => c[rng.Next(c.Length)] ^= (byte)(1 << rng.Next(8)));

    private static byte[] SetByte(byte[] b, Random rng) => Edit(b, c => c[rng.Next(c.Length)] = InterestingBytes[rng.Next(InterestingBytes.Length)]);

    private static byte[] OverwriteInt32(byte[] b, Random rng) => Overwrite(b, 4, rng);

    private static byte[] OverwriteInt64(byte[] b, Random rng) => Overwrite(b, 8, rng);

    // A boundary value written little-endian at an offset aligned to its size (3 in 4 times) or anywhere.
    private static byte[] Overwrite(byte[] b, int size, Random rng)
    {
        if (b.Length < size) return b;
        int at = rng.Next(b.Length - size + 1);
        if (rng.Next(4) != 0) at -= at % size;
        var value = BitConverter.GetBytes(InterestingInts[rng.Next(InterestingInts.Length)]);
        return Edit(b, c => value.AsSpan(0, size).CopyTo(c.AsSpan(at)));
    }

    private static byte[] Truncate(byte[] b, Random rng) => b[..(rng.Next(3) switch
    {
        0 => rng.Next(Math.Min(b.Length, 16) + 1),
        1 => Math.Max(0, b.Length - rng.Next(1, 9)),
        _ => rng.Next(b.Length + 1),
    })];

    private static byte[] Append(byte[] b, Random rng) => [.. b, .. RandomBytes(rng, rng.Next(1, 65))];

    private static byte[] DeleteRange(byte[] b, Random rng)
    {
        var (at, n) = Range(b.Length, rng);
        return [.. b.AsSpan(0, at), .. b.AsSpan(at + n)];
    }

    private static byte[] DuplicateRange(byte[] b, Random rng)
    {
        var (at, n) = Range(b.Length, rng);
        return [.. b.AsSpan(0, at + n), .. b.AsSpan(at, n), .. b.AsSpan(at + n)];
    }

    private static byte[] InsertRandom(byte[] b, Random rng)
    {
        int at = rng.Next(b.Length + 1);
        return [.. b.AsSpan(0, at), .. RandomBytes(rng, rng.Next(1, 33)), .. b.AsSpan(at)];
    }

    // A prefix of this input and a suffix of the other seed.
    private static byte[] Splice(byte[] b, byte[] other, Random rng) => [.. b.AsSpan(0, rng.Next(b.Length + 1)), .. other.AsSpan(rng.Next(other.Length + 1))];

    // A range [at, at + n) of an input of `length` bytes: mostly short, sometimes up to the rest of the input.
    private static (int At, int Length) Range(int length, Random rng)
    {
        int at = rng.Next(length + 1), room = length - at;
        return (at, rng.Next(4) == 0 ? rng.Next(room + 1) : rng.Next(Math.Min(room, 16) + 1));
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var bytes = new byte[n];
        rng.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Edit(byte[] b, Action<byte[]> edit)
    {
        if (b.Length == 0) return b;
        var copy = (byte[])b.Clone();
        edit(copy);
        return copy;
    }
}
