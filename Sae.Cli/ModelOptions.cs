using System.CommandLine;
using System.Globalization;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>
/// The model options shared by <c>train</c>, <c>compare</c>, <c>absorption</c> and <c>bench</c>: a model name is an
/// architecture name or <c>matryoshka[-topk|-abstopk|-batchtopk]</c> (plain <c>matryoshka</c> = BatchTopK selection, as in
/// the paper's Gemma runs), and <c>--widths</c> turns any TopK-family SAE into a Matryoshka SAE with those nested sizes.
/// </summary>
public sealed class ModelOptions
{
    /// <summary>Prefix of the Matryoshka model names.</summary>
    public const string MatryoshkaPrefix = "matryoshka";

    /// <summary><c>--arch NAME</c>.</summary>
    public Option<string> Arch { get; }

    /// <summary><c>--latents F</c>.</summary>
    public Option<int> Latents { get; }

    /// <summary><c>--k K</c>.</summary>
    public Option<int> K { get; }

    /// <summary><c>--widths M1,M2,...</c>.</summary>
    public Option<int[]?> Widths { get; } = CliOptions.Ints("--widths", "M1,M2,...",
        "Matryoshka nested sizes (last = F; F is appended when missing). With --arch matryoshka the default is the paper's group fractions 1/32, 1/16, 1/8, 1/4, rest of F");

    /// <summary>Adds --arch (default <paramref name="arch"/>), --latents and --k to <paramref name="command"/>, then --widths.</summary>
    public ModelOptions(Command command, string arch, int latents, int k, string kDescription = "active latents per token")
    {
        Arch = CliOptions.Value("--arch", arch, "NAME", "model: " + string.Join(" | ", ModelNames) +
            string.Concat(SaeConfig.ArchitectureAliases.Select(p => $"; {p.Key} is another name for {p.Value}")));
        Arch.CompletionSources.Add([.. ModelNames, .. SaeConfig.ArchitectureAliases.Keys]);
        Latents = CliOptions.Value("--latents", latents, "F", "dictionary size");
        K = CliOptions.Value("--k", k, "K", kDescription);
        foreach (Option o in new Option[] { Arch, Latents, K, Widths }) command.Add(o);
    }

    /// <summary>The config of width <paramref name="d"/> that the options name.</summary>
    public SaeConfig Read(ParseResult r, int d) => FromName(r.GetValue(Arch)!, d, r.GetValue(Latents), r.GetValue(K), r.GetList(Widths));

    /// <summary>The config of model <paramref name="name"/>; a bad name is a <see cref="CliException"/>.</summary>
    public static SaeConfig FromName(string name, int d, int latents, int k, IReadOnlyList<int>? widths)
    {
        name = name.Trim().ToLowerInvariant();
        if (widths is { Count: > 0 } && widths[^1] < latents) widths = [.. widths, latents];
        if (!name.StartsWith(MatryoshkaPrefix, StringComparison.Ordinal)) return new SaeConfig(d, latents, k, ParseArch(name), widths);
        var selection = name == MatryoshkaPrefix ? "batchtopk" : ParseArch(name[(MatryoshkaPrefix.Length + 1)..]);
        return new SaeConfig(d, latents, k, selection, widths ?? SaeConfig.DefaultMatryoshkaWidths(latents));
    }

    /// <summary>The model names: every architecture, then <c>matryoshka</c> and <c>matryoshka-NAME</c> for each selection that supports it.</summary>
    public static IReadOnlyList<string> ModelNames { get; } =
        [.. SaeConfig.Architectures, MatryoshkaPrefix, .. SaeConfig.MatryoshkaArchitectures.Select(a => $"{MatryoshkaPrefix}-{a}")];

    /// <summary>Checks an architecture name (a <see cref="CliException"/> when unknown) and returns it.</summary>
    public static string ParseArch(string name) =>
        SaeConfig.Architectures.Contains(name) || SaeConfig.ArchitectureAliases.ContainsKey(name) ? name
            : throw new CliException($"--arch: unknown architecture '{name}'; expected one of: {string.Join(", ", ModelNames)}.");
}

/// <summary>The Matryoshka training options of <c>train</c>: --prefix-weights, --random-prefixes, --min-prefix.</summary>
public sealed class PrefixOptions
{
    private readonly Option<double[]?> weights = CliOptions.Doubles("--prefix-weights", "W1,W2,...", "Matryoshka weight of each prefix's MSE (default equal)");
    private readonly Option<int> random = CliOptions.Value("--random-prefixes", 0, "N",
        "Matryoshka: sample N prefix sizes per step (truncated Pareto 0.5, F included) instead of --widths");
    private readonly Option<int> min = CliOptions.Value("--min-prefix", 1, "M", "smallest random prefix size");

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public PrefixOptions(Command command)
    {
        command.Add(weights);
        command.Add(random);
        command.Add(min);
    }

    /// <summary><paramref name="train"/> with the given prefix options.</summary>
    public TrainConfig Read(ParseResult r, TrainConfig train) => train with
    {
        PrefixWeights = r.GetList(weights), RandomPrefixes = r.GetValue(random), MinPrefix = r.GetValue(min),
    };
}

/// <summary>
/// Every architecture's training options as <c>--NAME VALUE</c> (see <see cref="TrainConfig.OptionsOf"/>), each described
/// with the architectures that have it, its default and its range. A command accepts an option only when one of the
/// architectures it trains has it.
/// </summary>
public sealed class ArchitectureOptions
{
    private readonly List<(Option<double?> Option, string Name)> options = [];

    /// <summary>Adds one option per distinct architecture option name to <paramref name="command"/>.</summary>
    public ArchitectureOptions(Command command)
    {
        foreach (var group in SaeConfig.Architectures.SelectMany(a => TrainConfig.OptionsOf(a).Select(o => (Arch: a, Option: o))).GroupBy(x => x.Option.Name))
        {
            var o = group.First().Option;
            var option = CliOptions.Maybe<double>("--" + o.Name, o.IsInteger ? "N" : "X", string.Create(CultureInfo.InvariantCulture,
                $"[{string.Join(", ", group.Select(x => x.Arch))}] {o.Description} (default {o.Default:G6}; {o.Range})"));
            options.Add((option, o.Name));
            command.Add(option);
        }
    }

    /// <summary>
    /// The given options (null when none), each checked to belong to one of <paramref name="architectures"/>: an option none
    /// of them has is a <see cref="CliException"/> naming it and the architectures that have it.
    /// </summary>
    public Dictionary<string, double>? Read(ParseResult r, IEnumerable<string> architectures)
    {
        var names = architectures.SelectMany(TrainConfig.OptionsOf).Select(o => o.Name).ToHashSet();
        var given = new Dictionary<string, double>();
        foreach (var (option, name) in options)
        {
            if (r.GetValue(option) is not { } v) continue;
            if (!names.Contains(name))
                throw new CliException($"--{name} is an option of {string.Join(", ", SaeConfig.Architectures.Where(a => TrainConfig.OptionsOf(a).Any(o => o.Name == name)))}, " +
                                       $"not of {string.Join(", ", architectures.Distinct())}.");
            given[name] = v;
        }
        return given.Count == 0 ? null : given;
    }

    /// <summary><paramref name="train"/> with those of <paramref name="given"/> options that <paramref name="architecture"/> has.</summary>
    public static TrainConfig WithOptionsOf(TrainConfig train, IReadOnlyDictionary<string, double>? given, string architecture)
    {
        var names = TrainConfig.OptionsOf(architecture).Select(x => x.Name).ToHashSet();
        var own = given?.Where(kv => names.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
        return train with { ArchitectureOptions = own is { Count: > 0 } ? own : null };
    }
}

/// <summary>The synthetic-data options shared by <c>train</c>, <c>compare</c>, <c>darkmatter</c> and <c>itda</c>: --d, --features, --mean-active, --seed.</summary>
public sealed class DataOptions
{
    private readonly Option<int> d = CliOptions.Value("--d", 64, "D", "input width of the synthetic data");
    private readonly Option<int> features = CliOptions.Value("--features", 256, "N", "true features in the synthetic data");
    private readonly Option<double> meanActive = CliOptions.Value("--mean-active", 4.0, "A", "expected true features per token");
    private readonly Option<bool> signed = CliOptions.Flag("--signed", "each firing feature's coefficient is negated with probability 1/2 (features used in both directions)");
    private readonly Option<int> seed = CliOptions.Seed();

    /// <summary>Adds the options to <paramref name="command"/>.</summary>
    public DataOptions(Command command)
    {
        foreach (Option o in new Option[] { d, features, meanActive, signed, seed }) command.Add(o);
    }

    /// <summary>The synthetic data the options describe (not yet validated).</summary>
    public SyntheticOptions Read(ParseResult r) =>
        new(InputDim: r.GetValue(d), Features: r.GetValue(features), MeanActive: r.GetValue(meanActive), Seed: r.GetValue(seed), Signed: r.GetValue(signed));
}
