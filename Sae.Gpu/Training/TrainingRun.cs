using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using SaeGpu.Compute;
using SaeGpu.Formats;
using SaeGpu.Training;

namespace SaeGpu;

/// <summary>Where and how a <see cref="TrainingRun"/> saves.</summary>
/// <param name="OutputPath">
/// Where the SAE is saved: a <c>.saeckpt</c> file (native) or a folder (SAELens). Beside it go <c>metrics.csv</c> (one row
/// per step) and, while the run is unfinished, the resumable state (<see cref="TrainingRun.StatePath"/>). Null trains in
/// memory: nothing is saved and the run cannot be resumed.
/// </param>
/// <param name="CheckpointEvery">Save the SAE, the metrics and the resumable state every this many steps (0 = only when stopped or done).</param>
/// <param name="InputScale">
/// The factor s the source scales its rows by (e.g. <see cref="FileActivations.Scale"/>); the SAE is saved as the one that
/// serves raw x (W_enc·s, W_dec/s, b_dec/s), while training continues on the scaled rows.
/// </param>
/// <param name="Note">Text kept in the resumable state for the caller (the <c>sae</c> CLI keeps its options there); see <see cref="TrainingRun.ReadNote"/>.</param>
public sealed record TrainingRunOptions(string? OutputPath = null, int CheckpointEvery = 1000, float InputScale = 1f, string? Note = null)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public TrainingRunOptions Validate()
    {
        if (OutputPath is not null && string.IsNullOrWhiteSpace(OutputPath))
            throw new ArgumentException("TrainingRunOptions.OutputPath must name a file or folder, or be null.", "options");
        if (CheckpointEvery < 0) throw new ArgumentException($"TrainingRunOptions.CheckpointEvery must be ≥ 0, got {CheckpointEvery}.", "options");
        if (!(InputScale > 0 && float.IsFinite(InputScale)))
            throw new ArgumentException($"TrainingRunOptions.InputScale must be positive and finite, got {InputScale}.", "options");
        return this;
    }
}

/// <summary>How a <see cref="TrainingRun.Run"/> ended.</summary>
/// <param name="Last">The last step's metrics (default when no step was taken).</param>
/// <param name="StepsTaken">Steps taken in all, resumed ones included.</param>
/// <param name="StepsRun">Steps taken by this call.</param>
/// <param name="Completed">True when all steps ran and the SAE was saved; false when the run was cancelled (a resumable checkpoint was saved).</param>
/// <param name="Seconds">Wall time of this call.</param>
/// <param name="TokensPerSecond">Tokens trained per second by this call.</param>
/// <param name="Firing">Histogram of the latents' firing frequencies (the trainer's running average).</param>
public sealed record TrainingResult(StepResult Last, int StepsTaken, int StepsRun, bool Completed, double Seconds, double TokensPerSecond,
    FiringHistogram Firing);

/// <summary>
/// A training run: an SAE, its <see cref="Trainer"/> and an activation source, stepped to <see cref="TrainConfig.Steps"/>
/// with checkpoints. Every <see cref="TrainingRunOptions.CheckpointEvery"/> steps, and when the run is cancelled, it saves the
/// SAE to <see cref="TrainingRunOptions.OutputPath"/>, the per-step metrics to <c>metrics.csv</c> and the resumable state —
/// each file atomically, so a crash at any moment leaves the previous checkpoint whole. <see cref="Resume"/> continues from
/// the state; on the reference and CPU backends the result equals an uninterrupted run bit for bit. When all steps are done
/// the SAE and metrics are saved and the state file is removed.
/// </summary>
public sealed class TrainingRun : IDisposable
{
    private readonly IActivationSource source;
    private readonly float[] batch, gradients;
    private readonly string? statePath, metricsPath;
    private TrainingHistory history = new();

    private TrainingRun(SparseAutoencoder sae, TrainConfig train, IActivationSource source, TrainingRunOptions options)
    {
        Sae = sae;
        Options = options;
        this.source = source;
        Trainer = new Trainer(sae, train);
        batch = new float[(long)train.BatchSize * sae.Config.InputDim];
        gradients = sae.Config.NeedsDownstreamGradients ? new float[batch.Length] : [];
        if (options.OutputPath is { } path) (statePath, metricsPath) = (StatePath(path), CompanionPath(path, "metrics.csv"));
    }

    /// <summary>
    /// Starts a run: a new SAE of <paramref name="model"/> on <paramref name="backend"/> (null: <see cref="Backend.Default"/>),
    /// initialized from <see cref="TrainConfig.Seed"/>, trained with <paramref name="train"/> on <paramref name="source"/>.
    /// Everything is checked before any work: the configs, the source's width (and its gradients, for an architecture that
    /// needs them), that the output location can be written (<see cref="ArgumentException"/> naming the problem) and that the
    /// run's <see cref="MemoryEstimate"/> fits the memory available (<see cref="InsufficientMemoryException"/> with the numbers).
    /// </summary>
    public static TrainingRun Start(SaeConfig model, TrainConfig train, IActivationSource source, TrainingRunOptions options, Backend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        train.Validate(model.Validate());
        CheckSource(model, source);
        if (options.OutputPath is { } path) CheckWritable(path);
        backend ??= Backend.Default;
        MemoryEstimate.For(model, train).Check(backend);
        var sae = SparseAutoencoder.Create(model, backend, train.Seed);
        try { return new TrainingRun(sae, train, source, options); }
        catch
        {
            sae.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Continues the run that saves to <paramref name="outputPath"/> from its last checkpoint, with the configs it was started
    /// with, on <paramref name="source"/> — which must be built with the same settings as the original (its read position is
    /// restored from the state; for files, their sizes and content fingerprints must be unchanged). The metrics of the steps
    /// taken so far come from the state too (metrics.csv is rewritten from them at the next save). <paramref name="options"/>,
    /// when given, replaces the saved checkpoint interval and note (its output path and input scale must be the saved ones).
    /// Throws <see cref="FileNotFoundException"/> when there is no state and <see cref="SaeFormatException"/> naming the file
    /// when it is damaged or does not fit.
    /// </summary>
    public static TrainingRun Resume(string outputPath, IActivationSource source, Backend? backend = null, TrainingRunOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        ArgumentNullException.ThrowIfNull(source);
        var (model, train, saved) = ReadHeader(outputPath);
        if (options is not null)
        {
            if (options.Validate().OutputPath != outputPath || options.InputScale != saved.InputScale)
                throw new ArgumentException($"The resumed run saves to '{outputPath}' with input scale {saved.InputScale}; the options say '{options.OutputPath}' and {options.InputScale}.", nameof(options));
            saved = options;
        }
        try { CheckSource(model, source); }
        catch (ArgumentException e) { throw new SaeFormatException(StatePath(outputPath), $"the saved run does not fit this source: {e.Message}", field: "model", inner: e); }
        CheckStateSize(StatePath(outputPath), model);
        backend ??= Backend.Default;
        MemoryEstimate.For(model, train).Check(backend);
        var sae = SparseAutoencoder.Create(model, backend, train.Seed);
        TrainingRun? run = null;
        try
        {
            run = new TrainingRun(sae, train, source, saved with { OutputPath = outputPath });
            run.history = TrainingState.Restore(run.statePath!, run.Trainer, source);
            return run;
        }
        catch
        {
            if (run is null) sae.Dispose();
            else run.Dispose();
            throw;
        }
    }

    /// <summary>The note stored with the run saving to <paramref name="outputPath"/> (see <see cref="TrainingRunOptions.Note"/>).</summary>
    public static string? ReadNote(string outputPath) => ReadHeader(outputPath).Options.Note;

    /// <summary>Where the run saving to <paramref name="outputPath"/> keeps its resumable state.</summary>
    public static string StatePath(string outputPath) => SaeFiles.StatePath(outputPath);

    /// <summary>
    /// A file that belongs with the SAE saved at <paramref name="outputPath"/>: <paramref name="name"/> inside a SAELens folder,
    /// or <c>&lt;file without .saeckpt&gt;.&lt;name&gt;</c> beside a native checkpoint (e.g. <c>metrics.csv</c>).
    /// </summary>
    public static string CompanionPath(string outputPath, string name) => SaeFiles.CompanionPath(outputPath, name);

    /// <summary>The SAE being trained (owned by the run: disposed with it).</summary>
    public SparseAutoencoder Sae { get; }

    /// <summary>The trainer (its step count, statistics and gradients).</summary>
    public Trainer Trainer { get; }

    /// <summary>Where and how the run saves.</summary>
    public TrainingRunOptions Options { get; }

    /// <summary>The metrics of every step so far (resumed steps included, as restored from the training state).</summary>
    public IReadOnlyList<StepResult> History => history.Steps;

    /// <summary>Raised after each checkpoint and after the final save (e.g. to draw plots beside the files).</summary>
    public event EventHandler? Saved;

    /// <summary>
    /// Trains until <see cref="TrainConfig.Steps"/> steps are done, or until <paramref name="cancellationToken"/> is cancelled
    /// (checked before each step; a resumable checkpoint is saved then, unless the run is in memory). <paramref name="progress"/>, when given, is reported
    /// each step's metrics synchronously, on this thread, after the step.
    /// </summary>
    public TrainingResult Run(IProgress<StepResult>? progress = null, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        int stepsRun = 0, steps = Trainer.Config.Steps;
        var last = history.Steps.LastOrDefault();
        while (Trainer.StepsTaken < steps)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                Checkpoint();
                return Result(last, stepsRun, completed: false, clock);
            }
            NextBatch();
            last = Trainer.Step(batch, gradients);
            if (!double.IsFinite(last.Loss))
                throw new TrainingDivergedException($"Step {last.Step}: the loss is {last.Loss}; the run stops without saving these weights" +
                    (statePath is null ? "." : $" (the last checkpoint at '{Options.OutputPath}' is kept)."));
            stepsRun++;
            history.Add(last);
            progress?.Report(last);
            if (Options.CheckpointEvery > 0 && last.Step % Options.CheckpointEvery == 0 && last.Step < steps) Checkpoint();
        }
        if (statePath is not null)
        {
            SaveModelAndMetrics();
            if (File.Exists(statePath)) File.Delete(statePath);
            Saved?.Invoke(this, EventArgs.Empty);
        }
        return Result(last, stepsRun, completed: true, clock);
    }

    /// <summary>Frees the trainer and the SAE.</summary>
    public void Dispose()
    {
        Trainer.Dispose();
        Sae.Dispose();
    }

    private void NextBatch()
    {
        if (gradients.Length == 0) source.NextBatch(batch);
        else source.NextBatch(batch, gradients);
    }

    // The SAE and metrics first (each atomically), then the state that points past them and holds the metrics too, so a
    // crash between the saves leaves a state whose own metrics are whole. In memory: nothing.
    private void Checkpoint()
    {
        if (statePath is null) return;
        SaveModelAndMetrics();
        TrainingState.Save(statePath, Header(), Trainer, source, history);
        Saved?.Invoke(this, EventArgs.Empty);
    }

    // Never writes weights with a NaN or ±Inf in them over the last good checkpoint.
    private void SaveModelAndMetrics()
    {
        foreach (string name in Sae.ParameterNames)
            if (Finite.IndexOfNonFinite(Sae.GetParameter(name)) is var i and >= 0)
                throw new TrainingDivergedException($"After step {Trainer.StepsTaken}: {name}[{i}] is not finite; the run stops without saving " +
                    $"(the last checkpoint at '{Options.OutputPath}' is kept).");
        SaeFiles.Save(Sae, Options.OutputPath!, Options.InputScale);
        history.WriteCsv(metricsPath!);
    }

    private TrainingResult Result(StepResult last, int stepsRun, bool completed, Stopwatch clock)
    {
        double seconds = clock.Elapsed.TotalSeconds;
        return new TrainingResult(last, Trainer.StepsTaken, stepsRun, completed, seconds,
            seconds > 0 ? stepsRun * (double)Trainer.BatchSize / seconds : 0, FiringHistogram.Compute(Trainer.FiringFrequencies));
    }

    private string Header() => new JsonObject
    {
        ["model"] = JsonSerializer.SerializeToNode(Sae.Config),
        ["train"] = JsonSerializer.SerializeToNode(Trainer.Config),
        ["checkpoint_every"] = Options.CheckpointEvery,
        ["input_scale"] = Options.InputScale,
        ["note"] = Options.Note,
    }.ToJsonString();

    private static (SaeConfig Model, TrainConfig Train, TrainingRunOptions Options) ReadHeader(string outputPath)
    {
        string path = StatePath(outputPath);
        try
        {
            var json = StrictJson.ParseObject(TrainingState.ReadHeader(path), path, "the header");
            var model = StrictJson.Object(json, "model", path).Deserialize<SaeConfig>() ?? throw new SaeFormatException(path, "the header holds no model config.");
            var train = StrictJson.Object(json, "train", path).Deserialize<TrainConfig>() ?? throw new SaeFormatException(path, "the header holds no training config.");
            var scale = json["input_scale"] is JsonValue v && v.TryGetValue(out float s) ? s : throw new SaeFormatException(path, "expected a number.", field: "input_scale");
            var options = new TrainingRunOptions(outputPath, StrictJson.Int(json, "checkpoint_every", path) ?? 0, scale, StrictJson.String(json, "note", path));
            train.Validate(model.Validate());
            return (model, train, options.Validate());
        }
        catch (Exception e) when (e is JsonException or ArgumentException or NotSupportedException)
        {
            throw new SaeFormatException(path, $"the header does not describe a run: {e.Message}", inner: e);
        }
    }

    // The state holds the weights and both Adam moments: a header claiming a larger SAE than the file can hold is refused
    // before that SAE is allocated.
    private static void CheckStateSize(string path, SaeConfig model)
    {
        long weights = 4 * MemoryEstimate.ParameterCount(model), length = new FileInfo(path).Length;
        if (length < 3 * weights)
            throw new SaeFormatException(path, $"the file has {length} bytes, too few for the weights and Adam moments of the SAE its header describes ({model.InputDim}×{model.Latents}, {3 * weights} bytes).");
    }

    private static void CheckSource(SaeConfig model, IActivationSource source)
    {
        if (source.InputDim != model.InputDim)
            throw new ArgumentException($"The source has rows of {source.InputDim} values; the SAE expects d = {model.InputDim}.", nameof(source));
        if (model.NeedsDownstreamGradients && !source.ProvidesGradients)
            throw new ArgumentException($"{model.Architecture} trains with the downstream gradients of each batch, which this source ({source.GetType().Name}) does not supply.", nameof(source));
    }

    // Fails now, not after all the steps: the output's folder must be creatable and writable.
    private static void CheckWritable(string outputPath)
    {
        string full = Path.GetFullPath(outputPath);
        string dir = SaeFiles.FormatOf(full) == SaeFormat.Native ? Path.GetDirectoryName(full)! : full;
        try
        {
            Directory.CreateDirectory(dir);
            string probe = Path.Combine(dir, $".saegpu-write-test-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"Cannot write the output '{outputPath}': {e.Message}", "options", e);
        }
    }
}

/// <summary>
/// Thrown by <see cref="TrainingRun.Run"/> when a step's loss is not finite (NaN or ±Inf): the run stops before saving those
/// weights, so the last checkpoint on disk stays the last good one.
/// </summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
