using System.Globalization;
using System.Text;
using SaeGpu.Formats;

namespace SaeGpu.Training;

/// <summary>
/// The per-step metrics of a training run, kept as <c>metrics.csv</c> beside the saved SAE (columns
/// <see cref="CsvHeader"/>, invariant culture, round-trip precision; written atomically) and inside the resumable
/// <see cref="TrainingState"/>: a resumed run takes its history from the state (one atomic file with the weights it
/// belongs to) and rewrites the CSV from it, so a crash between the two files' saves, or an edited CSV, loses nothing.
/// </summary>
internal sealed class TrainingHistory
{
    /// <summary>Columns of the CSV file.</summary>
    public const string CsvHeader = "step,loss,mse,fvu,l0,dead_fraction,aux_loss,learning_rate";

    private readonly List<StepResult> steps = [];

    /// <summary>The recorded steps, in order.</summary>
    public IReadOnlyList<StepResult> Steps => steps;

    /// <summary>Records one step.</summary>
    public void Add(StepResult result) => steps.Add(result);

    /// <summary>Writes the CSV.</summary>
    public void WriteCsv(string path)
    {
        var text = new StringBuilder(CsvHeader).Append('\n');
        foreach (var s in steps)
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"{s.Step},{s.Loss:R},{s.Mse:R},{s.Fvu:R},{s.L0:R},{s.DeadFraction:R},{s.AuxLoss:R},{s.LearningRate:R}\n"));
        AtomicFile.Write(path, w => w.Write(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>Writes the recorded steps (their CSV columns) into a training state.</summary>
    public void WriteState(BinaryWriter w)
    {
        w.Write(steps.Count);
        foreach (var s in steps)
        {
            w.Write(s.Step);
            foreach (double v in (double[])[s.Loss, s.Mse, s.Fvu, s.L0, s.DeadFraction, s.AuxLoss, s.LearningRate]) w.Write(v);
        }
    }

    /// <summary>Reads what <see cref="WriteState"/> wrote: exactly <paramref name="stepsTaken"/> rows, steps 1, 2, … in order.</summary>
    public static TrainingHistory ReadState(BinaryReader r, int stepsTaken)
    {
        int count = r.ReadInt32();
        if (count != stepsTaken) throw new InvalidDataException($"The metrics hold {count} steps; the trainer has taken {stepsTaken}.");
        var history = new TrainingHistory();
        for (int i = 0; i < count; i++)
        {
            int step = r.ReadInt32();
            if (step != i + 1) throw new InvalidDataException($"Metrics row {i} is step {step}, not {i + 1}.");
            history.Add(new StepResult(step, Loss: r.ReadDouble(), Mse: r.ReadDouble(), Fvu: r.ReadDouble(), L0: r.ReadDouble(),
                DeadFraction: r.ReadDouble(), AuxLoss: r.ReadDouble(), LearningRate: r.ReadDouble()));
        }
        return history;
    }
}
