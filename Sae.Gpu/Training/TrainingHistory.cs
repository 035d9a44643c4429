using System.Globalization;
using System.Text;
using SaeGpu.Formats;

namespace SaeGpu.Training;

/// <summary>
/// The per-step metrics of a training run, kept as <c>metrics.csv</c> beside the saved SAE (columns
/// <see cref="CsvHeader"/>, invariant culture, round-trip precision; written atomically). A resumed run reads the CSV back
/// and keeps the rows up to its step.
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
}
