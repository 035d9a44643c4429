using System.Globalization;
using System.Text.Json;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Formats;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary><c>sae train</c>: trains a TopK SAE on synthetic activations with known features and reports recovery.</summary>
public static class TrainCommand
{
    /// <summary>Usage text.</summary>
    public static string Usage { get; } = """
        sae train [options]      Train an SAE on synthetic activations with known features, or on activation files.
          --data PATH            .npy (float32/float16) or .safetensors file, or a folder of shards (streamed; see README)
          --tensor NAME          safetensors tensor to read (default: the only 2-D one)
          --shuffle-buffer N     rows mixed across shards (default 65536)
          --normalize            scale inputs to mean norm √d while training; the scale is folded into the saved weights
        """ + "\n" + ModelOptions.ArchUsage("(default topk; k is the per-token count, the mean budget, top-AFA's cap or the target L0)") + "\n" + """
          --backend NAME         reference | cpu | gpu | ilgpu-cpu (default: $SAEGPU_BACKEND, else cpu)
          --latents F            dictionary size (default 512)
          --k K                  active latents per token (default 8)
          --batch B              tokens per step (default 1024)
          --steps N              optimizer steps (default 1500)
          --lr LR                peak learning rate (default 2e-4/sqrt(F/16384))
          --warmup N             warm-up steps (default min(1000, steps/20))
          --seed S               seed of data and initialization (default 0)
          --d D                  input width of the synthetic data (default 64)
          --features N           true features in the synthetic data (default 256)
          --mean-active A        expected true features per token (default 4)
          --dead-after T         a latent is dead after T tokens without firing (default 10000000)
          --aux KIND             none | auxk | aux-zipf auxiliary loss (default auxk, coefficient 1/32)
          --aux-k K              latents of the auxiliary term per token (default d/2)
        """ + "\n" + ModelOptions.MatryoshkaUsage + "\n" + """
          --log-every N          progress line every N steps (default steps/10)
          --out PATH             where to save: a folder in SAELens format (default sae), or a .saeckpt native file
          --checkpoint-every N   save the SAE and the resumable training state every N steps (default 1000; 0 = never)
          --stop-after N         stop after step N, leaving a checkpoint to resume from
          --resume PATH          continue the run saved at PATH (its --out) from its last checkpoint, with its options;
                                 only --log-every, --json, --checkpoint-every, --stop-after and --backend may be given too.
                                 On the cpu and reference backends the result equals an uninterrupted run bit for bit.
          --json                 print one JSON object with the final metrics as the last line
        g-SAE trains on the synthetic data with a downstream loss on every 4th feature, whose gradient is fed with each batch.
        """ + "\n" + ModelOptions.ArchitectureOptionsUsage();

    /// <summary>Runs the command with <paramref name="args"/> (after the word <c>train</c>); returns the exit code.</summary>
    public static int Run(IEnumerable<string> args, TextWriter output)
    {
        var (runArgs, resumeFrom) = ExpandResume([.. args]);
        var o = new CliOptions(runArgs, Flags);
        if (o.Flag("help")) { output.WriteLine(Usage); return 0; }
        var data = ReadData(o);
        using var files = OpenFiles(o, data.Seed);
        var model = ModelOptions.Read(o, files?.InputDim ?? data.InputDim, "topk", 512, 8);
        int steps = o.Int("steps", 1500);
        var train = new TrainConfig(BatchSize: o.Int("batch", 1024), Steps: steps, LearningRate: o.DoubleOrNull("lr"),
            WarmupSteps: o.IntOrNull("warmup"), DeadAfterTokens: o.Int("dead-after", 10_000_000), Seed: data.Seed,
            AuxLoss: ReadAux(o), AuxK: o.IntOrNull("aux-k"), ArchitectureOptions: ModelOptions.ReadArchitectureOptions(o, [model.Architecture]));
        train = ModelOptions.ReadTraining(o, train);
        int logEvery = o.Int("log-every", Math.Max(1, steps / 10));
        string outPath = o.String("out", "sae")!;
        bool json = o.Flag("json");
        string? backendName = o.String("backend");
        int checkpointEvery = o.Int("checkpoint-every", 1000);
        int? stopAfter = o.IntOrNull("stop-after");
        o.RejectUnknown("train");
        try
        {
            data.Validate();
            train.Validate(model.Validate());
            if (logEvery < 1) throw new ArgumentException($"--log-every must be ≥ 1, got {logEvery}.");
            if (checkpointEvery < 0) throw new ArgumentException($"--checkpoint-every must be ≥ 0, got {checkpointEvery}.");
            if (stopAfter is < 1) throw new ArgumentException($"--stop-after must be ≥ 1, got {stopAfter}.");
            if (files is not null && model.NeedsDownstreamGradients)
                throw new ArgumentException("g-SAE trains with downstream gradients, which activation files do not carry; use the synthetic data.");
        }
        catch (ArgumentException e) { throw new CliException(e.Message); }

        using var backend = CliOptions.CreateBackend(backendName);
        IActivationSource source = files is null ? Source(data) : files;
        string widths = model.MatryoshkaWidths is { } m ? $" widths [{string.Join(", ", m)}]" : "";
        string origin = files is null ? $"synthetic data with {data.Features} features"
            : $"{files.TotalRows} activations in {files.Files.Count} file(s) at {o.String("data")}{(files.Scale != 1 ? $", scaled by {files.Scale:G4}" : "")}";
        output.WriteLine($"Training {model.Name} SAE d={model.InputDim} F={model.Latents} k={model.K}{widths} on {backend.Name}: " +
                         $"{steps} steps × {train.BatchSize} tokens, {origin}.");
        var options = new TrainingRunOptions(outPath, checkpointEvery, files?.Scale ?? 1f, JsonSerializer.Serialize(Without(runArgs, "resume", "stop-after")));
        using var run = OpenRun(model, train, source, options, backend, resumeFrom is not null);
        if (resumeFrom is not null) output.WriteLine($"Resumed at step {run.Trainer.StepsTaken} from {TrainingRun.StatePath(outPath)}.");
        run.Saved += (_, _) => Plots.Write(run);
        long bytesBefore = files?.BytesRead ?? 0;
        var trained = RunProgress.Run(run, output, logEvery, stopAfter);
        if (!trained.Completed)
        {
            output.WriteLine($"Stopped after step {trained.StepsTaken}; continue with: sae train --resume {outPath}");
            return 0;
        }
        double streamed = (files?.BytesRead ?? 0) - bytesBefore;
        var final = RunProgress.Evaluate(run.Sae, source, train.BatchSize);
        var summary = new Dictionary<string, object>
        {
            ["arch"] = model.Name, ["fvu"] = final.Metrics.Fvu, ["l0"] = final.Metrics.L0, ["dead_fraction"] = trained.Last.DeadFraction,
            ["steps"] = steps, ["tokens_per_second"] = trained.TokensPerSecond, ["train_seconds"] = trained.Seconds,
            ["backend"] = backend.Name, ["checkpoint"] = Path.GetFullPath(outPath),
            ["firing_histogram"] = FiringHistogram.Labels.Zip(trained.Firing.Counts).ToDictionary(p => p.First, p => p.Second),
        };
        if (files is not null)
        {
            long largest = files.Files.Max(f => new FileInfo(f).Length);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Streamed {streamed / 1e6:F1} MB of activations at {streamed / 1e6 / trained.Seconds:F1} MB/s while training ({files.Epoch} full passes); largest file {largest / 1e6:F1} MB."));
            summary["streamed_megabytes_per_second"] = streamed / 1e6 / trained.Seconds;
            summary["largest_file_bytes"] = largest;
        }
        if (final.Recovery is { } recovery)
        {
            summary["recovered_fraction"] = recovery.RecoveredFraction;
            summary["mean_max_cosine"] = recovery.MeanMaxCosine;
        }
        string recovered = final.Recovery is { } r
            ? string.Create(CultureInfo.InvariantCulture, $"recovered {100 * r.RecoveredFraction:F1}% (cos ≥ 0.9)  mean max cos {r.MeanMaxCosine:F3}  ") : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Final ({(files is null ? "held-out batch" : "next batch of the training stream; sae eval measures held-out files")}): FVU {final.Metrics.Fvu:F4}  L0 {final.Metrics.L0:F2}  dead {100 * trained.Last.DeadFraction:F1}%  {recovered}" +
            $"{trained.TokensPerSecond:F0} tokens/s  → {outPath}"));
        output.WriteLine($"Firing frequency histogram (latents per decade): {trained.Firing}");
        if (final.Metrics.PrefixFvu is { } prefixFvu)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Prefix FVU (held-out): {string.Join("  ", model.MatryoshkaWidths!.Zip(prefixFvu, (w, v) => $"{w}: {v:F4}"))}"));
            summary["widths"] = model.MatryoshkaWidths!;
            summary["prefix_fvu"] = prefixFvu;
        }
        if (final.DownstreamFvu is { } downstream && model.NeedsDownstreamGradients)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Downstream FVU (relevant features, held-out): {downstream:F4}"));
            summary["downstream_fvu"] = downstream;
        }
        if (json) output.WriteLine(JsonSerializer.Serialize(summary));
        return 0;
    }

    // A new run, or the run saved at options.OutputPath (its configs were re-read from the state through --resume's note).
    private static TrainingRun OpenRun(SaeConfig model, TrainConfig train, IActivationSource source, TrainingRunOptions options, Backend backend, bool resume)
    {
        try
        {
            return resume ? TrainingRun.Resume(options.OutputPath!, source, backend, options) : TrainingRun.Start(model, train, source, options, backend);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException) { throw new CliException(e.Message); }
    }

    private static readonly HashSet<string> Flags = ["json", "help", "normalize"];
    private static readonly string[] ResumeOverrides = ["resume", "log-every", "json", "checkpoint-every", "stop-after", "backend", "help"];

    // --resume PATH: the saved run's options (the state's header), then the options given now, then --out PATH.
    private static (List<string> Args, string? StatePath) ExpandResume(List<string> args)
    {
        var given = new CliOptions(args, Flags);
        if (given.String("resume") is not { } path) return (args, null);
        if (given.Names.Except(ResumeOverrides).ToArray() is { Length: > 0 } extra)
            throw new CliException($"--resume takes the run's options from its saved state; {string.Join(", ", extra.Select(e => "--" + e))} cannot be changed " +
                                   $"(allowed: {string.Join(", ", ResumeOverrides.Skip(1).Select(e => "--" + e))}).");
        string state = TrainingRun.StatePath(path);
        try
        {
            var saved = JsonSerializer.Deserialize<List<string>>(TrainingRun.ReadNote(path) ?? "null")
                ?? throw new InvalidDataException($"'{state}' holds no run options.");
            return ([.. saved, .. Without(args, "resume"), "--out", path], state);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException or JsonException or EndOfStreamException)
        {
            throw new CliException($"Cannot resume from '{path}': {e.Message}");
        }
    }

    // args without the value options named (as --name value or --name=value).
    private static List<string> Without(List<string> args, params string[] names)
    {
        var kept = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (names.Any(n => args[i] == "--" + n)) i++;
            else if (!names.Any(n => args[i].StartsWith("--" + n + "=", StringComparison.Ordinal))) kept.Add(args[i]);
        }
        return kept;
    }

    /// <summary>
    /// The synthetic source of <paramref name="data"/> with its downstream task (every 4th feature relevant): g-SAE trains
    /// with the task's gradients, and every run reports the downstream FVU. The token stream is the plain source's.
    /// </summary>
    public static SyntheticActivations Source(SyntheticOptions data) => new(data with { DownstreamEvery = 4 });

    // --data PATH: the activation files (validated now, before any work), or null for the synthetic data.
    private static FileActivations? OpenFiles(CliOptions o, int seed)
    {
        string? path = o.String("data"), tensor = o.String("tensor");
        int buffer = o.Int("shuffle-buffer", 65536);
        bool normalize = o.Flag("normalize");
        if (path is null) return null;
        try { return new FileActivations(path, new FileActivationOptions(buffer, seed, normalize, tensor)); }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or FileNotFoundException) { throw new CliException(e.Message); }
    }

    /// <summary>The synthetic-data options shared by <c>train</c> and <c>compare</c>: --d, --features, --mean-active, --seed.</summary>
    public static SyntheticOptions ReadData(CliOptions o) => new(InputDim: o.Int("d", 64), Features: o.Int("features", 256),
        MeanActive: o.Double("mean-active", 4), Seed: o.Int("seed", 0));

    /// <summary>The --aux option: none, auxk (default) or aux-zipf.</summary>
    public static AuxLossKind ReadAux(CliOptions o) => o.String("aux", "auxk") switch
    {
        "none" => AuxLossKind.None,
        "auxk" => AuxLossKind.AuxK,
        "aux-zipf" => AuxLossKind.AuxZipf,
        var name => throw new CliException($"--aux: unknown auxiliary loss '{name}'; expected none, auxk or aux-zipf."),
    };
}
