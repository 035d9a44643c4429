using System.CommandLine;
using System.CommandLine.Completions;
using System.CommandLine.Help;

namespace SaeGpu.Cli;

/// <summary>
/// The <c>sae</c> command tree: every command with its typed options, generated <c>--help</c>, shell completion through the
/// <c>[suggest]</c> directive, and one way of failing — <c>error: …</c> and the usage line on stderr, exit code 2 — for an
/// unknown or malformed option and for a bad value the library rejects.
/// </summary>
public static class SaeCli
{
    /// <summary>Column width of the generated help (fixed, so <c>docs/cli.md</c> does not depend on the terminal).</summary>
    public const int HelpWidth = 120;

    /// <summary>The root command, its commands writing to <paramref name="output"/>.</summary>
    public static RootCommand Create(TextWriter output)
    {
        var root = new RootCommand("sae: train, evaluate and analyse sparse autoencoders on SaeGpu's kernels.")
        {
            TrainCommand.Create(output),
            CompareCommand.Create(output),
            AbsorptionCommand.Create(output),
            ItdaCommand.Create(output),
            DarkMatterCommand.Create(output),
            FirstLetterCommand.Create(output),
            EvalCommand.Create(output, writeCodes: false),
            EvalCommand.Create(output, writeCodes: true),
#if SAE_EXTRACT
            ExtractCommand.Create(output),
#endif
            BenchCommand.Create(output),
            CompletionCommand(output),
        };
        root.HelpName = "sae";
        foreach (var help in root.Options.OfType<HelpOption>()) help.Action = new HelpAction { MaxWidth = HelpWidth };
        return root;
    }

    /// <summary>
    /// Runs <c>sae <paramref name="args"/></c> and maps every failure to an exit code, with the message on
    /// <paramref name="error"/>: 2 for a command-line error (<c>error: …</c> and the usage line) and for a missing or
    /// malformed input file (<see cref="SaeFormatException"/>, <see cref="FileNotFoundException"/>: one line naming the
    /// file); 1 for another file-system error (permissions, a full disk); 70 for anything else, which is a bug in SaeGpu
    /// (<c>internal error: …</c> and the stack trace). Other exit codes are the command's (e.g. 3 for <c>bench --verify</c>).
    /// </summary>
    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        var parsed = Create(output).Parse(args);
        try { return Invoke(parsed, output, error); }
        catch (Exception e) { return Fail(e, parsed.CommandResult.Command, error); }
    }

    /// <summary>
    /// Reports the failure <paramref name="e"/> of <paramref name="command"/> on <paramref name="error"/> as <see cref="Run"/>
    /// describes and returns the exit code.
    /// </summary>
    public static int Fail(Exception e, Command command, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(error);
        switch (e)
        {
            case CliException:
                error.WriteLine($"error: {OneLine(e.Message)}");
                error.WriteLine($"usage: {UsageLine(command)}   (add --help for the options)");
                return 2;
            case SaeFormatException or FileNotFoundException or DirectoryNotFoundException:
                error.WriteLine($"error: {OneLine(e.Message)}");
                return 2;
            case IOException or UnauthorizedAccessException:
                error.WriteLine($"error: {OneLine(e.Message)}");
                return 1;
            default:
                error.WriteLine($"internal error: {e.GetType().Name}: {OneLine(e.Message)} (a bug in SaeGpu; please report it with this trace)");
                error.WriteLine(e.ToString());
                return InternalError;
        }
    }

    /// <summary>The exit code of an unexpected exception (a bug): 70, BSD's EX_SOFTWARE.</summary>
    public const int InternalError = 70;

    private static string OneLine(string message) => message.ReplaceLineEndings(" ");

    /// <summary>Runs <c>sae <paramref name="args"/></c>, throwing a <see cref="CliException"/> for a command-line error (for tests and embedding).</summary>
    public static int Invoke(IReadOnlyList<string> args, TextWriter output) => Invoke(Create(output).Parse(args), output, TextWriter.Null);

    /// <summary><paramref name="args"/> parsed by <paramref name="command"/>; a parse error is a <see cref="CliException"/>.</summary>
    public static ParseResult Parse(Command command, IReadOnlyList<string> args) => ThrowOnErrors(command.Parse(args));

    /// <summary>The usage line of <paramref name="command"/>: its path from the root, then its options, subcommands and arguments.</summary>
    public static string UsageLine(Command command)
    {
        var path = new List<string>();
        for (Command? c = command; c is not null; c = c.Parents.OfType<Command>().FirstOrDefault())
            path.Insert(0, c is RootCommand ? "sae" : c.Name);
        if (command.Subcommands.Count > 0) path.Add("<command>");
        if (command.Options.Any(o => o is not HelpOption and not VersionOption)) path.Add("[options]");
        path.AddRange(command.Arguments.Select(a => $"<{a.HelpName ?? a.Name}>..."));
        return string.Join(' ', path);
    }

    private static int Invoke(ParseResult parsed, TextWriter output, TextWriter error) =>
        ThrowOnErrors(parsed).Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });

    // Completion requests ([suggest]) parse incomplete lines on purpose; everything else must parse cleanly.
    private static ParseResult ThrowOnErrors(ParseResult parsed) =>
        parsed.Errors.Count == 0 || IsCompletion(parsed) ? parsed
            : throw new CliException(string.Join(" ", parsed.Errors.Select(e => e.Message).Distinct()));

    private static bool IsCompletion(ParseResult parsed) =>
        parsed.RootCommandResult.Command is RootCommand root && root.Directives.OfType<SuggestDirective>().Any(d => parsed.GetResult(d) is not null);

    private static Command CompletionCommand(TextWriter output)
    {
        var command = new Command("completion", "Print a bash completion script for sae; load it with: source <(sae completion)");
        command.SetAction(_ => output.Write(BashCompletion));
        return command;
    }

    /// <summary>The bash completion script: asks <c>sae "[suggest:POSITION]" "LINE"</c> for the words that fit.</summary>
    public const string BashCompletion = """
        # bash completion for sae (SaeGpu). Load with: source <(sae completion)
        _sae_complete() {
            local IFS=$'\n'
            COMPREPLY=($("${COMP_WORDS[0]}" "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null))
        }
        complete -o default -F _sae_complete sae

        """;
}
