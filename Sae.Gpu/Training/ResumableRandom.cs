namespace SaeGpu.Training;

/// <summary>
/// Component of a training run whose state can be saved and restored, so a resumed run continues bit for bit
/// (<see cref="TrainingState"/>).
/// </summary>
public interface IResumable
{
    /// <summary>Writes the state that later draws or updates depend on.</summary>
    void WriteState(BinaryWriter writer);

    /// <summary>
    /// Restores the state written by <see cref="WriteState"/> on an object constructed with the same settings; throws
    /// <see cref="InvalidDataException"/> when the saved state does not fit those settings.
    /// </summary>
    void ReadState(BinaryReader reader);
}

/// <summary>
/// A <see cref="Random"/> whose whole state (four 64-bit words) can be saved and restored: xoshiro256** (Blackman and
/// Vigna), seeded through SplitMix64. System.Random hides its state, so every stream a resumable run draws from uses this.
/// NextDouble = (u >> 11)·2⁻⁵³; Next(n) = ⌊(u >> 32)·n / 2³²⌋ (bias below 2⁻³² · n, negligible for the sizes used).
/// </summary>
public sealed class ResumableRandom : Random, IResumable
{
    private ulong s0, s1, s2, s3;

    /// <summary>A stream determined by <paramref name="seed"/>.</summary>
    public ResumableRandom(long seed)
    {
        ulong z = unchecked((ulong)seed);
        (s0, s1, s2, s3) = (SplitMix(ref z), SplitMix(ref z), SplitMix(ref z), SplitMix(ref z));
    }

    /// <summary>The next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9, t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <inheritdoc />
    public override double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <inheritdoc />
    protected override double Sample() => NextDouble();

    /// <inheritdoc />
    public override float NextSingle() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <inheritdoc />
    public override int Next()
    {
        int v;
        do v = (int)(NextUInt64() >> 33); while (v == int.MaxValue);
        return v;
    }

    /// <inheritdoc />
    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)((NextUInt64() >> 32) * (ulong)maxValue >> 32);
    }

    /// <inheritdoc />
    public override int Next(int minValue, int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return (int)(minValue + NextInt64(0, (long)maxValue - minValue));
    }

    /// <inheritdoc />
    public override long NextInt64()
    {
        long v;
        do v = (long)(NextUInt64() >> 1); while (v == long.MaxValue);
        return v;
    }

    /// <inheritdoc />
    public override long NextInt64(long maxValue) => NextInt64(0, maxValue);

    /// <inheritdoc />
    public override long NextInt64(long minValue, long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        ulong range = (ulong)(maxValue - minValue);
        return range == 0 ? minValue : minValue + (long)Math.BigMul(NextUInt64(), range, out _);
    }

    /// <inheritdoc />
    public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

    /// <inheritdoc />
    public override void NextBytes(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i += 8)
        {
            ulong u = NextUInt64();
            for (int j = i; j < Math.Min(i + 8, buffer.Length); j++, u >>= 8) buffer[j] = (byte)u;
        }
    }

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer)
    {
        foreach (ulong s in new[] { s0, s1, s2, s3 }) writer.Write(s);
    }

    /// <inheritdoc />
    public void ReadState(BinaryReader reader)
    {
        (s0, s1, s2, s3) = (reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64());
        if ((s0 | s1 | s2 | s3) == 0) throw new InvalidDataException("Random state is all zero, which xoshiro256** never reaches.");
    }

    private static ulong SplitMix(ref ulong z)
    {
        ulong x = z += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }
}
