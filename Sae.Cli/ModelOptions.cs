using System.Globalization;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>
/// The model options shared by <c>train</c>, <c>compare</c>, <c>absorption</c> and <c>bench</c>: a model name is an
/// architecture name or <c>matryoshka[-topk|-abstopk|-batchtopk]</c> (plain <c>matryoshka</c> = BatchTopK selection, as in
/// the paper's Gemma runs), and <c>--widths</c> turns any TopK-family SAE into a Matryoshka SAE with those nested sizes.
/// </summary>
public static class ModelOptions
{
    /// <summary>Usage lines of the Matryoshka options.</summary>
    public const string MatryoshkaUsage = """
          --widths M1,M2,...     Matryoshka nested sizes (last = F; F is appended when missing). With --arch matryoshka
                                 the default is the paper's group fractions 1/32, 1/16, 1/8, 1/4, rest of F
          --prefix-weights W,... Matryoshka weight of each prefix's MSE (default equal)
          --random-prefixes N    Matryoshka: sample N prefix sizes per step (truncated Pareto 0.5, F included) instead of --widths
          --min-prefix M         smallest random prefix size (default 1)
        """;

    /// <summary>Prefix of the Matryoshka model names.</summary>
    public const string MatryoshkaPrefix = "matryoshka";

    /// <summary>Reads --arch (default <paramref name="defaultArch"/>), --latents, --k and --widths into a config of width <paramref name="d"/>.</summary>
    public static SaeConfig Read(CliOptions o, int d, string defaultArch, int defaultLatents, int defaultK)
    {
        string name = o.String("arch", defaultArch)!;
        int latents = o.Int("latents", defaultLatents), k = o.Int("k", defaultK);
        return FromName(name, d, latents, k, Ints(o, "widths"));
    }

    /// <summary>The config of model <paramref name="name"/>; a bad name is a <see cref="CliException"/>.</summary>
    public static SaeConfig FromName(string name, int d, int latents, int k, IReadOnlyList<int>? widths)
    {
        name = name.Trim().ToLowerInvariant();
        if (widths is { Count: > 0 } && widths[^1] < latents) widths = [.. widths, latents];
        if (!name.StartsWith(MatryoshkaPrefix, StringComparison.Ordinal)) return new SaeConfig(d, latents, k, ParseArch(name), widths);
        var selection = name == MatryoshkaPrefix ? "batchtopk" : ParseArch(name[(MatryoshkaPrefix.Length + 1)..]);
        return new SaeConfig(d, latents, k, selection, widths ?? SaeConfig.DefaultMatryoshkaWidths(latents));
    }

    /// <summary>Applies --prefix-weights, --random-prefixes and --min-prefix to <paramref name="train"/>.</summary>
    public static TrainConfig ReadTraining(CliOptions o, TrainConfig train) => train with
    {
        PrefixWeights = Doubles(o, "prefix-weights"),
        RandomPrefixes = o.Int("random-prefixes", 0),
        MinPrefix = o.Int("min-prefix", 1),
    };

    /// <summary>The model names: every architecture, then <c>matryoshka</c> and <c>matryoshka-NAME</c> for each selection that supports it.</summary>
    public static IReadOnlyList<string> ModelNames { get; } =
        [.. SaeConfig.Architectures, MatryoshkaPrefix, .. SaeConfig.MatryoshkaArchitectures.Select(a => $"{MatryoshkaPrefix}-{a}")];

    /// <summary>The usage lines of <c>--arch</c>: the model names, then <paramref name="note"/>.</summary>
    public static string ArchUsage(string note) =>
        Wrap("  --arch NAME            ", string.Join(" | ", ModelNames)) + "\n" + Wrap(new string(' ', 25), note);

    /// <summary><paramref name="text"/> after <paramref name="head"/>, word-wrapped at 120 columns under its first word.</summary>
    public static string Wrap(string head, string text)
    {
        var lines = new List<string>();
        string line = head, indent = new(' ', head.Length);
        foreach (string word in text.Split(' '))
        {
            if (line.Length > indent.Length && line.Length + 1 + word.Length > 120) { lines.Add(line); line = indent; }
            line += line.Length == indent.Length ? word : " " + word;
        }
        return string.Join("\n", [.. lines, line]);
    }

    /// <summary>Checks an architecture name (a <see cref="CliException"/> when unknown) and returns it.</summary>
    public static string ParseArch(string name) =>
        SaeConfig.Architectures.Contains(name) ? name
            : throw new CliException($"--arch: unknown architecture '{name}'; expected one of: {string.Join(", ", ModelNames)}.");

    /// <summary>
    /// Reads the training options of <paramref name="architectures"/> (each <c>--name value</c>, see
    /// <see cref="TrainConfig.OptionsOf"/>); null when none is given.
    /// </summary>
    public static Dictionary<string, double>? ReadArchitectureOptions(CliOptions o, IEnumerable<string> architectures)
    {
        var given = new Dictionary<string, double>();
        foreach (var option in architectures.Distinct().SelectMany(TrainConfig.OptionsOf).DistinctBy(x => x.Name))
            if (o.DoubleOrNull(option.Name) is { } v) given[option.Name] = v;
        return given.Count == 0 ? null : given;
    }

    /// <summary><paramref name="train"/> with those of <paramref name="given"/> options that <paramref name="architecture"/> has.</summary>
    public static TrainConfig WithOptionsOf(TrainConfig train, IReadOnlyDictionary<string, double>? given, string architecture)
    {
        var names = TrainConfig.OptionsOf(architecture).Select(x => x.Name).ToHashSet();
        var own = given?.Where(kv => names.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        return train with { ArchitectureOptions = own is { Count: > 0 } ? own : null };
    }

    /// <summary>Usage lines of every architecture's options.</summary>
    public static string ArchitectureOptionsUsage()
    {
        var lines = new List<string> { "  Architecture options (--NAME VALUE; only the chosen architecture's are accepted):" };
        foreach (string arch in SaeConfig.Architectures)
            foreach (var option in TrainConfig.OptionsOf(arch))
                lines.Add(Wrap(string.Create(CultureInfo.InvariantCulture, $"    {arch,-15} --{option.Name,-20} "),
                    string.Create(CultureInfo.InvariantCulture, $"{option.Description} (default {option.Default:G6}; {option.Range})")));
        return string.Join("\n", lines);
    }

    /// <summary>A comma-separated integer list option, or null when absent.</summary>
    public static int[]? Ints(CliOptions o, string name) => List(o, name, s => int.Parse(s, CultureInfo.InvariantCulture));

    private static double[]? Doubles(CliOptions o, string name) => List(o, name, s => double.Parse(s, CultureInfo.InvariantCulture));

    private static T[]? List<T>(CliOptions o, string name, Func<string, T> parse)
    {
        if (o.String(name) is not { } text) return null;
        try { return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse)]; }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new CliException($"Option --{name}: '{text}' is not a comma-separated list of {typeof(T).Name.ToLowerInvariant()} values.");
        }
    }
}
