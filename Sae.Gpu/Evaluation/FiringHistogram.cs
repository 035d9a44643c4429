using System.Globalization;

namespace SaeGpu;

/// <summary>
/// Histogram of per-latent firing frequencies (fraction of tokens on which a latent is active) in decades:
/// bin 0 counts latents that never fire (frequency 0), bins 1.. count frequencies in [10^(e), 10^(e+1)) for e from
/// <see cref="LowestDecade"/> + 1 up to −1, with everything below 10^(LowestDecade+1) in bin 1 and frequency 1 in the last bin.
/// </summary>
public sealed record FiringHistogram(IReadOnlyList<int> Counts)
{
    /// <summary>Lowest decade with a bin of its own.</summary>
    public const int LowestDecade = -6;

    /// <summary>Bins the frequencies [F].</summary>
    public static FiringHistogram Compute(IReadOnlyList<double> frequencies)
    {
        ArgumentNullException.ThrowIfNull(frequencies);
        var counts = new int[1 - LowestDecade];
        foreach (double fr in frequencies)
        {
            if (double.IsNaN(fr) || fr < 0) throw new ArgumentException($"Firing frequency {fr} is not a frequency.", nameof(frequencies));
            counts[fr == 0 ? 0 : Math.Clamp((int)Math.Floor(Math.Log10(fr)) - LowestDecade + 1, 1, counts.Length - 1)]++;
        }
        return new FiringHistogram(counts);
    }

    /// <summary>Bin labels: "0", "&lt;1e-5", "1e-5", …, "1e-1" (each decade labelled by its lower edge).</summary>
    public static IReadOnlyList<string> Labels { get; } =
        ["0", .. Enumerable.Range(LowestDecade, -LowestDecade).Select(e => e == LowestDecade ? $"<1e{e + 1}" : $"1e{e}")];

    /// <summary>One line, e.g. <c>0:3 &lt;1e-5:0 1e-5:1 … 1e-1:20</c>.</summary>
    public override string ToString() =>
        string.Join(' ', Labels.Zip(Counts, (l, c) => string.Create(CultureInfo.InvariantCulture, $"{l}:{c}")));
}
