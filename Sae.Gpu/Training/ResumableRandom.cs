namespace SaeGpu.Training;

/// <summary>
/// Component of a training run whose state can be saved and restored, so a resumed run continues bit for bit
/// (<see cref="TrainingState"/>).
/// </summary>
internal interface IResumable
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
/// A <see cref="Random"/> whose whole state can be saved and restored, drawing exactly the numbers of
/// <c>new System.Random(seed)</c> (System.Random hides its state, so a resumable run draws from this instead and keeps every
/// earlier seeded result). The generator is the subtractive lagged-Fibonacci one (Knuth; lags 55 and 24 as 56-slot indices
/// 0 and 21) that .NET uses for seeded instances: x_n = x_{n−55} − x_{n−24} mod (2³¹ − 1). NextDouble = x·(1/(2³¹ − 1));
/// Next(n) = ⌊NextDouble·n⌋; Next(a, b) = a + Next(b − a) for ranges below 2³¹.
/// </summary>
internal sealed class ResumableRandom : Random, IResumable
{
    private const int Lag = 56, Seed = 161803398;
    private readonly int[] state = new int[Lag];
    private int next, nextP = 21;

    /// <summary>The stream of <c>new System.Random(seed)</c>.</summary>
    public ResumableRandom(int seed)
    {
        int mj = Seed - (seed == int.MinValue ? int.MaxValue : Math.Abs(seed)), mk = 1, ii = 0;
        state[55] = mj;
        for (int i = 1; i < 55; i++)
        {
            if ((ii += 21) >= 55) ii -= 55;
            state[ii] = mk;
            mk = mj - mk;
            if (mk < 0) mk += int.MaxValue;
            mj = state[ii];
        }
        for (int k = 1; k < 5; k++)
            for (int i = 1; i < Lag; i++)
            {
                int n = i + 30;
                if (n >= 55) n -= 55;
                state[i] -= state[1 + n];
                if (state[i] < 0) state[i] += int.MaxValue;
            }
    }

    /// <inheritdoc />
    protected override double Sample() => InternalSample() * (1.0 / int.MaxValue);

    /// <inheritdoc />
    public override double NextDouble() => Sample();

    /// <inheritdoc />
    public override float NextSingle()
    {
        float v;
        do v = (float)Sample(); while (v >= 1f);
        return v;
    }

    /// <inheritdoc />
    public override int Next() => InternalSample();

    /// <inheritdoc />
    public override int Next(int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValue);
        return (int)(Sample() * maxValue);
    }

    /// <inheritdoc />
    public override int Next(int minValue, int maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        return (int)NextInt64(minValue, maxValue);
    }

    /// <inheritdoc />
    public override long NextInt64() => NextInt64(0, long.MaxValue);

    /// <inheritdoc />
    public override long NextInt64(long maxValue) => NextInt64(0, maxValue);

    /// <summary>A value in [<paramref name="minValue"/>, <paramref name="maxValue"/>): one draw for ranges below 2³¹, else two (62 bits).</summary>
    public override long NextInt64(long minValue, long maxValue)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minValue, maxValue);
        ulong range = (ulong)(maxValue - minValue);
        if (range <= int.MaxValue) return minValue + (long)(Sample() * range);
        ulong bits = ((ulong)(uint)InternalSample() << 31) | (uint)InternalSample();
        return minValue + (long)Math.BigMul(bits << 2, range, out _);
    }

    /// <inheritdoc />
    public override void NextBytes(byte[] buffer) => NextBytes(buffer.AsSpan());

    /// <inheritdoc />
    public override void NextBytes(Span<byte> buffer)
    {
        for (int i = 0; i < buffer.Length; i++) buffer[i] = (byte)InternalSample();
    }

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer)
    {
        writer.Write(next);
        writer.Write(nextP);
        foreach (int v in state) writer.Write(v);
    }

    /// <inheritdoc />
    public void ReadState(BinaryReader reader)
    {
        (next, nextP) = (reader.ReadInt32(), reader.ReadInt32());
        if (next is < 0 or >= Lag || nextP is < 0 or >= Lag)
            throw new InvalidDataException($"Random stream indices ({next}, {nextP}) are outside [0, {Lag}).");
        for (int i = 0; i < Lag; i++) state[i] = reader.ReadInt32();
    }

    private int InternalSample()
    {
        if (++next >= Lag) next = 1;
        if (++nextP >= Lag) nextP = 1;
        int v = state[next] - state[nextP];
        if (v == int.MaxValue) v--;
        if (v < 0) v += int.MaxValue;
        state[next] = v;
        return v;
    }
}
