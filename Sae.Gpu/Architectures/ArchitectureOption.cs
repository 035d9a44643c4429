using System.Globalization;

namespace SaeGpu;

/// <summary>
/// A training hyper-parameter that belongs to one architecture (an entry of <see cref="TrainConfig.ArchitectureOptions"/>):
/// its name, default, valid range and meaning. <see cref="TrainConfig.OptionsOf"/> lists an architecture's options;
/// the CLI offers each as <c>--name value</c>.
/// </summary>
public sealed class ArchitectureOption
{
    private readonly Func<double, bool> isValid;

    private ArchitectureOption(string name, double defaultValue, string description, string range, Func<double, bool> isValid, bool integer)
    {
        (Name, Default, Description, Range, IsInteger) = (name, defaultValue, description, range, integer);
        this.isValid = isValid;
    }

    /// <summary>The option's name (lower case, words joined by '-'), e.g. <c>l1</c> or <c>gba-interval</c>.</summary>
    public string Name { get; }

    /// <summary>The value used when the option is not given.</summary>
    public double Default { get; }

    /// <summary>What the option controls, with its formula.</summary>
    public string Description { get; }

    /// <summary>The valid values in words, e.g. <c>≥ 0</c> or <c>integer ≥ 1</c>.</summary>
    public string Range { get; }

    /// <summary>True when only whole numbers are valid.</summary>
    public bool IsInteger { get; }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Name} (default {Default:G6}, {Range}): {Description}");

    /// <summary>Throws <see cref="ArgumentException"/> naming the option when <paramref name="value"/> is outside its range.</summary>
    internal void Validate(double value, string architecture)
    {
        if (!isValid(value) || (IsInteger && value != Math.Floor(value)))
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"TrainConfig.ArchitectureOptions[\"{Name}\"] of {architecture} must be {Range}, got {value:R}."), "config");
    }

    /// <summary>An option valid for finite values ≥ 0.</summary>
    internal static ArchitectureOption NonNegative(string name, double defaultValue, string description) =>
        AtLeast(name, defaultValue, 0, description);

    /// <summary>An option valid for finite values &gt; 0.</summary>
    internal static ArchitectureOption Positive(string name, double defaultValue, string description) =>
        new(name, defaultValue, description, "> 0", v => v > 0 && double.IsFinite(v), false);

    /// <summary>An option valid for finite values ≥ <paramref name="min"/>.</summary>
    internal static ArchitectureOption AtLeast(string name, double defaultValue, double min, string description) =>
        new(name, defaultValue, description, string.Create(CultureInfo.InvariantCulture, $"≥ {min}"), v => v >= min && double.IsFinite(v), false);

    /// <summary>An option valid in [<paramref name="min"/>, <paramref name="max"/>) (the upper end excluded).</summary>
    internal static ArchitectureOption HalfOpen(string name, double defaultValue, double min, double max, string description) =>
        new(name, defaultValue, description, string.Create(CultureInfo.InvariantCulture, $"in [{min}, {max})"), v => v >= min && v < max, false);

    /// <summary>An option valid in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal static ArchitectureOption Closed(string name, double defaultValue, double min, double max, string description) =>
        new(name, defaultValue, description, string.Create(CultureInfo.InvariantCulture, $"in [{min}, {max}]"), v => v >= min && v <= max, false);

    /// <summary>A whole-number option valid from <paramref name="min"/> up.</summary>
    internal static ArchitectureOption Integer(string name, int defaultValue, int min, string description) =>
        new(name, defaultValue, description, string.Create(CultureInfo.InvariantCulture, $"an integer ≥ {min}"), v => v >= min && v <= int.MaxValue, true);
}
