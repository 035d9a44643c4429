using ScottPlot;

namespace SaeGpu.Cli;

/// <summary>
/// The PNG plots <c>sae train</c> draws beside the saved SAE at each checkpoint: <c>training_curves.png</c> (loss, FVU and
/// L0 against step; loss and FVU on log10 axes) and <c>feature_density.png</c> (latents per decade of firing frequency;
/// latents that never fired in their own bar). Written atomically.
/// </summary>
public static class Plots
{
    /// <summary>Draws both plots for <paramref name="run"/> beside its output.</summary>
    public static void Write(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        string outPath = run.Options.OutputPath!;
        string name = $"{run.Sae.Config.Architecture} SAE, F = {run.Sae.Config.Latents}, k = {run.Sae.Config.K}";
        Curves(run.History, TrainingRun.CompanionPath(outPath, "training_curves.png"), name);
        Density(run.Trainer.FiringFrequencies, TrainingRun.CompanionPath(outPath, "feature_density.png"),
            $"Feature density at step {run.Trainer.StepsTaken}: {name}");
    }

    /// <summary>Draws loss, FVU and L0 of <paramref name="steps"/> against step, one panel each, to the PNG <paramref name="path"/>.</summary>
    public static void Curves(IReadOnlyList<StepResult> steps, string path, string title)
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
    public static void Density(IReadOnlyList<double> frequencies, string path, string title)
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

    // Atomically, as the library writes its files: a hidden temporary file beside the target, flushed to disk, then renamed
    // over it; the temporary file never outlives a failure.
    private static void WritePng(string path, Image image)
    {
        using (image)
        {
            string full = Path.GetFullPath(path);
            string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
            try
            {
                using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
                {
                    fs.Write(image.GetImageBytes(ImageFormat.Png));
                    fs.Flush(flushToDisk: true);
                }
                File.Move(tmp, full, overwrite: true);
            }
            finally
            {
                if (File.Exists(tmp)) File.Delete(tmp);
            }
        }
    }
}
