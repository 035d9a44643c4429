using System.Globalization;

namespace SaeGpu.Cli;

/// <summary>Parsed <c>--name value</c> options of one command, with typed accessors that name the bad option.</summary>
public sealed class CliOptions
{
    private readonly Dictionary<string, string?> values = new(StringComparer.Ordinal);
    private readonly HashSet<string> used = new(StringComparer.Ordinal);

    /// <summary>
    /// Parses <paramref name="args"/>; <paramref name="flags"/> are options that take no value. Arguments that are not
    /// options are an error unless <paramref name="allowPositional"/>, which collects them in <see cref="Positional"/>.
    /// </summary>
    public CliOptions(IEnumerable<string> args, IReadOnlySet<string> flags, bool allowPositional = false)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string a = e.Current;
            if (!a.StartsWith("--", StringComparison.Ordinal))
            {
                if (!allowPositional) throw new CliException($"Unexpected argument '{a}'.");
                Positional.Add(a);
                continue;
            }
            string name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) (name, value) = (name[..eq], name[(eq + 1)..]);
            else if (!flags.Contains(name))
            {
                if (!e.MoveNext()) throw new CliException($"Option --{name} needs a value.");
                value = e.Current;
            }
            values[name] = value;
        }
    }

    /// <summary>Names of the options given (without the leading dashes).</summary>
    public IEnumerable<string> Names => values.Keys;

    /// <summary>Arguments that are not options, in order (only with <c>allowPositional</c>).</summary>
    public List<string> Positional { get; } = [];

    /// <summary>True when the flag was given.</summary>
    public bool Flag(string name) { used.Add(name); return values.ContainsKey(name); }

    /// <summary>String option or <paramref name="fallback"/>.</summary>
    public string? String(string name, string? fallback = null) { used.Add(name); return values.TryGetValue(name, out var v) ? v : fallback; }

    /// <summary>Integer option or <paramref name="fallback"/>.</summary>
    public int Int(string name, int fallback) => Parse(name, fallback, s => int.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>Optional integer option.</summary>
    public int? IntOrNull(string name) => values.ContainsKey(name) ? Int(name, 0) : Mark<int?>(name, null);

    /// <summary>Double option or <paramref name="fallback"/>.</summary>
    public double Double(string name, double fallback) => Parse(name, fallback, s => double.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>Optional double option.</summary>
    public double? DoubleOrNull(string name) => values.ContainsKey(name) ? Double(name, 0) : Mark<double?>(name, null);

    /// <summary>Creates the backend named by <c>--backend</c> (else $SAEGPU_BACKEND, else cpu); an unknown name is a <see cref="CliException"/>.</summary>
    public static Backend CreateBackend(string? name)
    {
        try { return Backend.Create(name); }
        catch (ArgumentException e) { throw new CliException(e.Message); }
    }

    /// <summary>Throws for any option that no accessor asked for (a typo, say).</summary>
    public void RejectUnknown(string command)
    {
        var unknown = values.Keys.Where(k => !used.Contains(k)).ToArray();
        if (unknown.Length > 0) throw new CliException($"Unknown option(s) for '{command}': {string.Join(", ", unknown.Select(u => "--" + u))}.");
    }

    private T Mark<T>(string name, T v) { used.Add(name); return v; }

    private T Parse<T>(string name, T fallback, Func<string, T> parse)
    {
        used.Add(name);
        if (!values.TryGetValue(name, out var s)) return fallback;
        try { return parse(s ?? ""); }
        catch (FormatException) { throw new CliException($"Option --{name}: '{s}' is not a valid {typeof(T).Name.ToLowerInvariant()}."); }
        catch (OverflowException) { throw new CliException($"Option --{name}: '{s}' is out of range."); }
    }
}

/// <summary>A user error on the command line; printed without a stack trace.</summary>
public sealed class CliException(string message) : Exception(message);
