using System.Globalization;
using System.Text;
using SaeGpu.Formats;
using SaeGpu.Training;
using ScottPlot;

namespace SaeGpu.Cli;

/// <summary>
/// The per-step metrics of a training run — written as <c>metrics.csv</c> next to the checkpoint and drawn as PNG plots:
/// <c>training_curves.png</c> (loss, FVU and L0 against step; loss and FVU on log10 axes) and
/// <c>feature_density.png</c> (latents per decade of firing frequency; latents that never fired in their own bar). All files are
/// written atomically; a resumed run reads the CSV back and keeps the rows up to its step.
/// </summary>
public sealed class TrainingHistory
{
    /// <summary>Columns of the CSV file.</summary>
    public const string CsvHeader = "step,loss,mse,fvu,l0,dead_fraction,aux_loss,learning_rate";

    private readonly List<StepResult> steps = [];

    /// <summary>The recorded steps, in order.</summary>
    public IReadOnlyList<StepResult> Steps => steps;

    /// <summary>Records one step.</summary>
    public void Add(StepResult result) => steps.Add(result);

    /// <summary>Writes the CSV (<see cref="CsvHeader"/>, one row per step, invariant culture, round-trip precision).</summary>
    public void WriteCsv(string path)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var s in steps)
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{s.Step},{s.Loss:R},{s.Mse:R},{s.Fvu:R},{s.L0:R},{s.DeadFraction:R},{s.AuxLoss:R},{s.LearningRate:R}\n"));
        AtomicFile.Write(path, w => w.Write(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// The rows of <paramref name="path"/> with step ≤ <paramref name="upToStep"/> (empty when the file does not exist);
    /// throws <see cref="InvalidDataException"/> naming the file and line of a malformed row.
    /// </summary>
    public static TrainingHistory ReadCsv(string path, int upToStep)
    {
        var history = new TrainingHistory();
        if (!File.Exists(path)) return history;
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0] != CsvHeader) throw new InvalidDataException($"'{path}' does not start with the header '{CsvHeader}'.");
        for (int i = 1; i < lines.Length; i++)
        {
            var v = lines[i].Split(',');
            try
            {
                if (v.Length != 8) throw new FormatException($"{v.Length} fields instead of 8");
                double D(int j) => double.Parse(v[j], CultureInfo.InvariantCulture);
                var row = new StepResult(Step: int.Parse(v[0], CultureInfo.InvariantCulture), Loss: D(1), Mse: D(2), Fvu: D(3), L0: D(4),
                    DeadFraction: D(5), AuxLoss: D(6), LearningRate: D(7));
                if (row.Step <= upToStep) history.Add(row);
            }
            catch (FormatException e) { throw new InvalidDataException($"'{path}' line {i + 1}: {e.Message}"); }
        }
        return history;
    }

    /// <summary>Draws loss, FVU and L0 against step, one panel each, to the PNG <paramref name="path"/>.</summary>
    public void PlotCurves(string path, string title)
    {
        double[] x = [.. steps.Select(s => (double)s.Step)];
        var figure = new Multiplot();
        figure.AddPlots(3);
        Panel(figure.GetPlot(0), x, [.. steps.Select(s => Math.Log10(Math.Max(s.Loss, 1e-30)))], "log10 loss", title);
        Panel(figure.GetPlot(1), x, [.. steps.Select(s => Math.Log10(Math.Max(s.Fvu, 1e-30)))], "log10 FVU", null);
        Panel(figure.GetPlot(2), x, [.. steps.Select(s => s.L0)], "L0", null).XLabel("step");
        WritePng(path, figure.Render(900, 900));
    }

    /// <summary>
    /// Draws the feature-density histogram of <paramref name="frequencies"/> [F] (each latent's firing frequency per token):
    /// latents that never fired (EMA 0), then one bar per decade 1e-8 … 1, to the PNG <paramref name="path"/>.
    /// </summary>
    public static void PlotDensity(IReadOnlyList<double> frequencies, string path, string title)
    {
        ArgumentNullException.ThrowIfNull(frequencies);
        var counts = new double[9];
        foreach (double f in frequencies) counts[f <= 0 ? 0 : Math.Clamp(9 + (int)Math.Floor(Math.Log10(f)), 1, 8)]++;
        var plot = new Plot();
        var bars = plot.Add.Bars(counts);
        string[] labels = ["0", "<1e-7", "1e-7", "1e-6", "1e-5", "1e-4", "1e-3", "1e-2", "≥1e-1"];
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, labels.Length).Select(i => (double)i)], labels);
        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.XLabel("firing frequency per token (decade)");
        plot.YLabel("latents");
        _ = bars;
        WritePng(path, plot.GetImage(800, 500));
    }

    private static Plot Panel(Plot plot, double[] x, double[] y, string label, string? title)
    {
        var line = plot.Add.ScatterLine(x, y);
        line.LineWidth = 1.5f;
        plot.YLabel(label);
        if (title is not null) plot.Title(title);
        return plot;
    }

    private static void WritePng(string path, Image image)
    {
        using (image) AtomicFile.Write(path, w => w.Write(image.GetImageBytes(ImageFormat.Png)));
    }
}
