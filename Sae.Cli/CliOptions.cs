using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using SaeGpu.Data;

namespace SaeGpu.Cli;

/// <summary>
/// Typed <c>--name value</c> options, each defined once with its default, value name and description: System.CommandLine
/// parses them, prints them in <c>--help</c> (defaults included) and completes them in a shell.
/// </summary>
public static class CliOptions
{
    /// <summary>An option of type <typeparamref name="T"/> with a default value.</summary>
    public static Option<T> Value<T>(string name, T defaultValue, string helpName, string description) =>
        new(name) { DefaultValueFactory = _ => defaultValue, HelpName = helpName, Description = description };

    /// <summary>An option of type <typeparamref name="T"/> that is null when absent (its default is computed or "none").</summary>
    public static Option<T?> Maybe<T>(string name, string helpName, string description) where T : struct =>
        new(name) { HelpName = helpName, Description = description };

    /// <summary>A string option, null when absent.</summary>
    public static Option<string?> Text(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description };

    /// <summary>A string option that must be given.</summary>
    public static Option<string> Required(string name, string helpName, string description) =>
        new(name) { HelpName = helpName, Description = description, Required = true };

    /// <summary>A flag: true when given.</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>A comma-separated integer list (<c>--widths 8,24</c>), null when absent; a bad item is a parse error naming the option.</summary>
    public static Option<int[]?> Ints(string name, string helpName, string description) =>
        List(name, helpName, description, s => int.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>A comma-separated list of numbers, null when absent.</summary>
    public static Option<double[]?> Doubles(string name, string helpName, string description) =>
        List(name, helpName, description, s => double.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>A comma-separated list of names, null when absent.</summary>
    public static Option<string[]?> Names(string name, string helpName, string description) => List(name, helpName, description, s => s);

    /// <summary><c>--backend NAME</c>: reference | cpu | gpu | ilgpu-cpu; null (absent) means $SAEGPU_BACKEND, else cpu.</summary>
    public static Option<string?> Backend(string description = "reference | cpu | gpu | ilgpu-cpu (default: $SAEGPU_BACKEND, else cpu)")
    {
        var option = Text("--backend", "NAME", description);
        option.CompletionSources.Add("reference", "cpu", "gpu", "ilgpu-cpu");
        return option;
    }

    /// <summary><c>--latents F</c>: the dictionary size.</summary>
    public static Option<int> Latents(int defaultValue) => Value("--latents", defaultValue, "F", "dictionary size");

    /// <summary><c>--batch B</c>: tokens per training step.</summary>
    public static Option<int> Batch(int defaultValue) => Value("--batch", defaultValue, "B", "tokens per step");

    /// <summary><c>--steps N</c>: optimizer steps.</summary>
    public static Option<int> Steps(int defaultValue) => Value("--steps", defaultValue, "N", "optimizer steps");

    /// <summary><c>--seed S</c>: the seed of the data and the initialization.</summary>
    public static Option<int> Seed() => Value("--seed", 0, "S", "seed of the data and the initialization");

    /// <summary><c>--json</c>: a JSON summary as the last output line.</summary>
    public static Option<bool> Json(string what = "one JSON object with the final metrics") => Flag("--json", $"print {what} as the last line");

    /// <summary>Creates the backend <paramref name="name"/> (null: $SAEGPU_BACKEND, else cpu); an unknown name is a <see cref="CliException"/>.</summary>
    public static Backend CreateBackend(string? name) => Checked(() => SaeGpu.Backend.Create(name));

    /// <summary>
    /// Runs <paramref name="work"/>, turning the library's errors about the user's arguments into a
    /// <see cref="CliException"/> with the same message (a missing or malformed file stays a <see cref="FileNotFoundException"/>
    /// or <see cref="SaeFormatException"/>, which <see cref="SaeCli.Run"/> reports in one line naming the file).
    /// </summary>
    public static T Checked<T>(Func<T> work)
    {
        try { return work(); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or InsufficientMemoryException)
        {
            throw new CliException(e.Message);
        }
    }

    /// <summary>
    /// Checks an output before any work: it is not the same path as an input, inside an input folder, or a folder holding
    /// an input (writing there would overwrite or mix with the user's data), and the nearest existing folder on its path is
    /// writable. Throws a <see cref="CliException"/> naming <paramref name="option"/>, the paths and the problem.
    /// </summary>
    public static void CheckOutput(string option, string output, params string?[] inputs)
    {
        string full = Path.GetFullPath(output);
        foreach (string input in inputs.OfType<string>())
        {
            string source = Path.GetFullPath(input);
            string? clash = full == source ? "is" : Inside(full, source) ? "is inside" : Inside(source, full) ? "contains" : null;
            if (clash is not null)
                throw new CliException($"{option} '{output}' {clash} the input '{input}'; writing there would overwrite or mix with that data. Choose another path.");
        }
        string folder = Directory.Exists(full) ? full : Path.GetDirectoryName(full)!;
        while (!Directory.Exists(folder))
        {
            if (File.Exists(folder)) throw new CliException($"{option} '{output}': '{folder}' is a file, not a folder.");
            folder = Path.GetDirectoryName(folder) ?? throw new CliException($"{option} '{output}': no existing folder on its path.");
        }
        string probe = Path.Combine(folder, $".sae-write-probe.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{option} '{output}': folder '{folder}' is not writable: {e.Message}");
        }
    }

    /// <summary>
    /// <c>--nonfinite error|skip</c>: what train and eval do with activation rows holding NaN or ±Inf (default error).
    /// </summary>
    public static Option<string> NonFinite()
    {
        var option = Value("--nonfinite", "error", "MODE", "rows with NaN or ±Inf: error (refuse the data, naming file, row and column) or skip (leave those rows out, reporting how many)");
        option.AcceptOnlyFromAmong("error", "skip");
        return option;
    }

    /// <summary>The <see cref="FileActivationOptions.SkipNonFinite"/> that the <see cref="NonFinite"/> value <paramref name="mode"/> asks for.</summary>
    public static bool Skips(string? mode) => mode == "skip";

    /// <summary>
    /// Refuses activation files holding a NaN or ±Inf value before any work, naming the file, row, column and value (a
    /// single NaN otherwise trains to NaN weights, or evaluates to FVU NaN, with exit 0) — unless the files were opened to
    /// skip such rows, in which case it reports on <paramref name="output"/> how many were left out.
    /// </summary>
    public static void CheckFinite(FileActivations files, TextWriter? output = null, bool skipping = false)
    {
        if (skipping)
        {
            if (files.SkippedRows > 0) output?.WriteLine($"Skipping {files.SkippedRows} of {files.TotalRows + files.SkippedRows} rows that hold NaN or ±Inf (--nonfinite skip).");
            return;
        }
        if (files.FindNonFinite() is { } bad)
            throw new CliException($"'{bad.File}' row {bad.Row}, column {bad.Column} is {bad.Value}; SAEs need finite activations. Remove or fix that row, or pass --nonfinite skip.");
    }

    private static bool Inside(string path, string folder) =>
        path.StartsWith(Path.TrimEndingDirectorySeparator(folder) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Runs the checks in <paramref name="validate"/>; an <see cref="ArgumentException"/> becomes a <see cref="CliException"/>.</summary>
    public static void Validate(Action validate) => Checked(() => { validate(); return 0; });

    /// <summary>The list <paramref name="option"/> holds, or null when it was not given (System.CommandLine gives an empty array then).</summary>
    public static T[]? GetList<T>(this ParseResult result, Option<T[]?> option) =>
        result.GetResult(option) is { Implicit: false } ? result.GetValue(option) : null;

    private static Option<T[]?> List<T>(string name, string helpName, string description, Func<string, T> parse) => new(name)
    {
        Arity = ArgumentArity.ExactlyOne,
        HelpName = helpName,
        Description = description,
        CustomParser = r =>
        {
            if (r.Tokens.Count == 0) return null;
            string text = r.Tokens[0].Value;
            try { return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(parse)]; }
            catch (Exception e) when (e is FormatException or OverflowException)
            {
                r.AddError($"Option {name}: '{text}' is not a comma-separated list of {typeof(T).Name.ToLowerInvariant()} values.");
                return null;
            }
        },
    };
}

/// <summary>A user error on the command line; printed as <c>error: message</c> with the command's usage line, exit code 2.</summary>
public sealed class CliException(string message) : Exception(message);
