namespace SaeGpu.Training;

/// <summary>Tokens since each latent last fired; a latent is dead once that reaches the threshold.</summary>
internal sealed class DeadLatentTracker : IResumable
{
    private readonly long[] sinceFired;

    /// <summary>Tracks <paramref name="latents"/> latents with dead threshold <paramref name="deadAfterTokens"/>.</summary>
    public DeadLatentTracker(int latents, long deadAfterTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latents);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(deadAfterTokens);
        sinceFired = new long[latents];
        DeadAfterTokens = deadAfterTokens;
    }

    /// <summary>The dead threshold in tokens.</summary>
    public long DeadAfterTokens { get; }

    /// <summary>Tokens since each latent last fired [F].</summary>
    public ReadOnlySpan<long> TokensSinceFired => sinceFired;

    /// <summary>After a batch of <paramref name="tokens"/> rows with per-latent fire counts [F]: reset fired latents, age the rest.</summary>
    public void Update(ReadOnlySpan<int> counts, int tokens)
    {
        if (counts.Length != sinceFired.Length)
            throw new ArgumentException($"counts has {counts.Length} entries; expected {sinceFired.Length}.", nameof(counts));
        for (int j = 0; j < sinceFired.Length; j++) sinceFired[j] = counts[j] > 0 ? 0 : sinceFired[j] + tokens;
    }

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer) => writer.WriteArray<long>(sinceFired);

    /// <inheritdoc />
    public void ReadState(BinaryReader reader) => reader.ReadArray<long>(sinceFired, "Tokens since each latent fired");

    /// <summary>Mask [F]: 1 for dead latents (TokensSinceFired ≥ the threshold), else 0.</summary>
    public int[] DeadMask()
    {
        var mask = new int[sinceFired.Length];
        FillDeadMask(mask);
        return mask;
    }

    /// <summary>Writes the dead mask into <paramref name="mask"/> [F] (no allocation; the trainer calls it every step).</summary>
    public void FillDeadMask(Span<int> mask)
    {
        for (int j = 0; j < sinceFired.Length; j++) mask[j] = sinceFired[j] >= DeadAfterTokens ? 1 : 0;
    }

    /// <summary>Fraction of latents with TokensSinceFired ≥ the threshold.</summary>
    public double DeadFraction
    {
        get
        {
            int dead = 0;
            foreach (long s in sinceFired) if (s >= DeadAfterTokens) dead++;
            return (double)dead / sinceFired.Length;
        }
    }
}
