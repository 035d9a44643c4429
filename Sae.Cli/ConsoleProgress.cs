using System.Text;
using Spectre.Console;

namespace SaeGpu.Cli;

/// <summary>
/// Live progress of long work: on an interactive terminal, a Spectre.Console bar with percentage, elapsed time, ETA and a
/// status text (live metrics), with the command's log lines printed above it. When the output is redirected or is not the
/// console (tests, pipes, CI logs), the work runs with its plain log lines only.
/// </summary>
public static class ConsoleProgress
{
    /// <summary>
    /// Runs <paramref name="work"/>(report, log): <c>report(value, status)</c> moves the bar to <c>value</c> of
    /// <paramref name="total"/> and shows <c>status</c> after <paramref name="title"/>; log lines go to <c>log</c>. Without
    /// a live bar <c>report</c> is null, so callers write <c>report?.Invoke(…)</c> and build no status text at all.
    /// </summary>
    public static T Run<T>(TextWriter output, string title, double total, Func<Action<double, string>?, TextWriter, T> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (!Interactive(output)) return work(null, output);
        using var log = new AnsiLineWriter();
        return AnsiConsole.Progress().AutoClear(false).HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: total);
                return work((value, status) =>
                {
                    task.Value = value;
                    task.Description = Markup.Escape($"{title}  {status}");
                }, log);
            });
    }

    private static bool Interactive(TextWriter output) =>
        ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    // Lines written while the bar is live go through Spectre, which redraws the bar below them.
    private sealed class AnsiLineWriter : TextWriter
    {
        private readonly StringBuilder line = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            if (value == '\n')
            {
                AnsiConsole.WriteLine(line.ToString());
                line.Clear();
            }
            else if (value != '\r') line.Append(value);
        }
    }
}
