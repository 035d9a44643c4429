using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.Json;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Formats;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae train</c>: trains an SAE (any architecture, Matryoshka too) on synthetic activations with known features or on
/// activation files, with checkpoints, resume, progress and plots, and reports the held-out metrics.
/// </summary>
public static class TrainCommand
{
    private sealed class Options
    {
        public readonly Command Command = new("train", "Train an SAE on synthetic activations with known features (the default), or on activation files.");
        public readonly Option<string?> Data = CliOptions.Text("--data", "PATH", ".npy (float32/float16) or .safetensors file, or a folder of shards (streamed)");
        public readonly Option<string?> Tensor = CliOptions.Text("--tensor", "NAME", "safetensors tensor to read (default: the only 2-D one)");
        public readonly Option<int> ShuffleBuffer = CliOptions.Value("--shuffle-buffer", 65536, "N", "rows mixed across shards");
        public readonly Option<bool> Normalize = CliOptions.Flag("--normalize", "scale inputs to mean norm √d while training; the scale is folded into the saved weights");
        public readonly Option<string> NonFinite = CliOptions.NonFinite();
        public readonly ModelOptions Model;
        public readonly Option<string?> Backend = CliOptions.Backend();
        public readonly Option<int> Batch = CliOptions.Batch(1024);
        public readonly Option<int> Steps = CliOptions.Steps(1500);
        public readonly Option<double?> Lr = CliOptions.Maybe<double>("--lr", "LR", "peak learning rate (default 2e-4/sqrt(F/16384))");
        public readonly Option<int?> Warmup = CliOptions.Maybe<int>("--warmup", "N", "warm-up steps (default min(1000, steps/20))");
        public readonly DataOptions Synthetic;
        public readonly Option<long?> DeadAfter = CliOptions.Maybe<long>("--dead-after", "T",
            "a latent is dead after T tokens without firing (default min(10 M, a tenth of the run's tokens))");
        public readonly Option<string> Aux = AuxOption();
        public readonly Option<int?> AuxK = CliOptions.Maybe<int>("--aux-k", "K", "latents of the auxiliary term per token (default d/2)");
        public readonly PrefixOptions Prefixes;
        public readonly Option<int?> LogEvery = CliOptions.Maybe<int>("--log-every", "N", "progress line every N steps (default steps/10)");
        public readonly Option<string> Out = CliOptions.Value("--out", "sae", "PATH", "where to save: a folder in SAELens format, or a .saeckpt native file");
        public readonly Option<int> CheckpointEvery = CliOptions.Value("--checkpoint-every", 1000, "N", "save the SAE and the resumable training state every N steps (0 = never)");
        public readonly Option<int?> StopAfter = CliOptions.Maybe<int>("--stop-after", "N", "stop after step N, leaving a checkpoint to resume from");
        public readonly Option<string?> Resume = CliOptions.Text("--resume", "PATH",
            "continue the run saved at PATH (its --out) from its last checkpoint, with its options; only --log-every, --json, " +
            "--checkpoint-every, --stop-after and --backend may be given too. On the cpu and reference backends the result equals an uninterrupted run bit for bit");
        public readonly Option<bool> Json = CliOptions.Json();
        public readonly ArchitectureOptions Architecture;

        public Options()
        {
            foreach (Option o in new Option[] { Data, Tensor, ShuffleBuffer, Normalize, NonFinite }) Command.Add(o);
            Model = new ModelOptions(Command, "topk", 512, 8, "k: active latents per token, the mean budget, top-AFA's cap or the target L0");
            foreach (Option o in new Option[] { Backend, Batch, Steps, Lr, Warmup }) Command.Add(o);
            Synthetic = new DataOptions(Command);
            foreach (Option o in new Option[] { DeadAfter, Aux, AuxK }) Command.Add(o);
            Prefixes = new PrefixOptions(Command);
            foreach (Option o in new Option[] { LogEvery, Out, CheckpointEvery, StopAfter, Resume, Json }) Command.Add(o);
            Architecture = new ArchitectureOptions(Command);
        }
    }

    /// <summary>The <c>train</c> command, writing to <paramref name="output"/>.</summary>
    public static Command Create(TextWriter output)
    {
        var o = new Options();
        o.Command.SetAction(r => r.GetValue(o.Resume) is { } path ? Resume(r, o, path, output) : Run(r, o, output, resumeFrom: null));
        return o.Command;
    }

    private static int Run(ParseResult r, Options o, TextWriter output, string? resumeFrom)
    {
        var data = o.Synthetic.Read(r);
        CliOptions.CheckOutput("--out", r.GetValue(o.Out)!, r.GetValue(o.Data));
        using var files = OpenFiles(r, o, data.Seed);
        if (files is not null) CliOptions.CheckFinite(files, output, CliOptions.Skips(r.GetValue(o.NonFinite)));
        var model = o.Model.Read(r, files?.InputDim ?? data.InputDim);
        int steps = r.GetValue(o.Steps);
        var train = new TrainConfig(BatchSize: r.GetValue(o.Batch), Steps: steps, LearningRate: r.GetValue(o.Lr),
            WarmupSteps: r.GetValue(o.Warmup), DeadAfterTokens: r.GetValue(o.DeadAfter), Seed: data.Seed,
            AuxLoss: ReadAux(r.GetValue(o.Aux)!), AuxK: r.GetValue(o.AuxK), ArchitectureOptions: o.Architecture.Read(r, [model.Architecture]));
        train = o.Prefixes.Read(r, train);
        int logEvery = r.GetValue(o.LogEvery) ?? Math.Max(1, steps / 10);
        string outPath = r.GetValue(o.Out)!;
        int checkpointEvery = r.GetValue(o.CheckpointEvery);
        int? stopAfter = r.GetValue(o.StopAfter);
        CliOptions.Validate(() =>
        {
            data.Validate();
            train.Validate(model.Validate());
            if (logEvery < 1) throw new ArgumentException($"--log-every must be ≥ 1, got {logEvery}.");
            if (checkpointEvery < 0) throw new ArgumentException($"--checkpoint-every must be ≥ 0, got {checkpointEvery}.");
            if (stopAfter is < 1) throw new ArgumentException($"--stop-after must be ≥ 1, got {stopAfter}.");
            if (files is not null && model.NeedsDownstreamGradients)
                throw new ArgumentException("g-SAE trains with downstream gradients, which activation files do not carry; use the synthetic data.");
        });

        using var backend = CliOptions.CreateBackend(r.GetValue(o.Backend));
        IActivationSource source = files is null ? Source(data) : files;
        string widths = model.MatryoshkaWidths is { } m ? $" widths [{string.Join(", ", m)}]" : "";
        string origin = files is null ? $"synthetic data with {data.Features} features"
            : $"{files.TotalRows} activations in {files.Files.Count} file(s) at {r.GetValue(o.Data)}{(files.Scale != 1 ? $", scaled by {files.Scale:G4}" : "")}";
        output.WriteLine($"Training {model.Name} SAE d={model.InputDim} F={model.Latents} k={model.K}{widths} on {backend.Name}: " +
                         $"{steps} steps × {train.BatchSize} tokens, {origin}.");
        var options = new TrainingRunOptions(outPath, checkpointEvery, files?.Scale ?? 1f, JsonSerializer.Serialize(Without(o, Arguments(r), ["--resume", "--stop-after"])));
        using var run = OpenRun(model, train, source, options, backend, resumeFrom is not null);
        if (resumeFrom is not null) output.WriteLine($"Resumed at step {run.Trainer.StepsTaken} from {resumeFrom}.");
        run.Saved += (_, _) => Plots.Write(run);
        long bytesBefore = files?.BytesRead ?? 0;
        var trained = RunProgress.Run(run, output, logEvery, stopAfter);
        if (!trained.Completed)
        {
            output.WriteLine($"Stopped after step {trained.StepsTaken}; continue with: sae train --resume {outPath}");
            return 0;
        }
        var final = RunProgress.Evaluate(run.Sae, source, train.BatchSize);
        var summary = Report(output, model, files, (files?.BytesRead ?? 0) - bytesBefore, trained, DeadLatents.Of(run), final, outPath, backend.Name);
        if (r.GetValue(o.Json)) output.WriteLine(JsonSerializer.Serialize(summary));
        return 0;
    }

    // The final lines: held-out metrics, streaming rate, firing histogram, prefix and downstream FVU; returns the --json summary.
    private static Dictionary<string, object> Report(TextWriter output, SaeConfig model, FileActivations? files, double streamed, TrainingResult trained,
        DeadLatents dead, HeldOut final, string outPath, string backend)
    {
        var summary = new Dictionary<string, object>
        {
            ["arch"] = model.Name, ["fvu"] = final.Metrics.Fvu, ["l0"] = final.Metrics.L0,
            ["steps"] = trained.StepsTaken, ["tokens_per_second"] = trained.TokensPerSecond, ["train_seconds"] = trained.Seconds,
            ["backend"] = backend, ["checkpoint"] = Path.GetFullPath(outPath),
            ["firing_histogram"] = FiringHistogram.Labels.Zip(trained.Firing.Counts).ToDictionary(p => p.First, p => p.Second),
        };
        dead.AddTo(summary);
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
        string recovered = final.Recovery is { } rec
            ? string.Create(CultureInfo.InvariantCulture, $"recovered {100 * rec.RecoveredFraction:F1}% (cos ≥ 0.9)  mean max cos {rec.MeanMaxCosine:F3}  ") : "";
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Final ({(files is null ? "held-out batch" : "next batch of the training stream; sae eval measures held-out files")}): FVU {final.Metrics.Fvu:F4}  L0 {final.Metrics.L0:F2}  dead {100 * dead.Fraction:F1}% (no firing in {dead.WindowTokens} tokens; aux term in {100 * dead.AuxActiveFraction:F0}% of steps)  {recovered}" +
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
        return summary;
    }

    // A new run, or the run saved at options.OutputPath (its configs were re-read from the state through --resume's note).
    private static TrainingRun OpenRun(SaeConfig model, TrainConfig train, IActivationSource source, TrainingRunOptions options, Backend backend, bool resume) =>
        CliOptions.Checked(() => resume ? TrainingRun.Resume(options.OutputPath!, source, backend, options) : TrainingRun.Start(model, train, source, options, backend));

    private static readonly string[] ResumeOverrides = ["--resume", "--log-every", "--json", "--checkpoint-every", "--stop-after", "--backend"];

    // --resume PATH: the saved run's arguments (the state's note), then the options given now, then --out PATH, parsed again.
    private static int Resume(ParseResult r, Options o, string path, TextWriter output)
    {
        string[] given = [.. r.CommandResult.Children.OfType<OptionResult>().Where(x => !x.Implicit).Select(x => x.Option.Name)];
        if (given.Except(ResumeOverrides).ToArray() is { Length: > 0 } extra)
            throw new CliException($"--resume takes the run's options from its saved state; {string.Join(", ", extra)} cannot be changed " +
                                   $"(allowed: {string.Join(", ", ResumeOverrides.Skip(1))}).");
        string state = TrainingRun.StatePath(path);
        List<string> saved;
        try
        {
            saved = JsonSerializer.Deserialize<List<string>>(TrainingRun.ReadNote(path) ?? "null")
                ?? throw new SaeFormatException(state, "holds no run options.", field: "note");
            if (saved.Any(a => a is null)) throw new SaeFormatException(state, "the saved run options hold a null argument.", field: "note");
        }
        catch (FileNotFoundException e) { throw new CliException($"Cannot resume from '{path}': {e.Message}"); }
        catch (JsonException e) { throw new SaeFormatException(state, $"the saved run options are not a JSON list of strings ({e.Message}).", field: "note"); }
        var again = new Options();
        string[] replaced = [.. given.Where(g => g != "--resume"), "--out"];
        string[] args = [.. Without(o, saved, replaced), .. Without(o, Arguments(r), ["--resume"]), "--out", path];
        return Run(SaeCli.Parse(again.Command, args), again, output, state);
    }

    // The option and argument tokens of the command line (the command's name and directives left out).
    private static List<string> Arguments(ParseResult r) =>
        [.. r.Tokens.Where(t => t.Type is TokenType.Option or TokenType.Argument).Select(t => t.Value)];

    // args without the options named, each with its value (flags of o have none).
    private static List<string> Without(Options o, List<string> args, IReadOnlyCollection<string> names)
    {
        var kept = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (!names.Contains(args[i])) kept.Add(args[i]);
            else if (o.Command.Options.FirstOrDefault(x => x.Name == args[i])?.ValueType != typeof(bool)) i++;
        }
        return kept;
    }

    /// <summary>
    /// The synthetic source of <paramref name="data"/> with its downstream task (every 4th feature relevant): g-SAE trains
    /// with the task's gradients, and every run reports the downstream FVU. The token stream is the plain source's.
    /// </summary>
    public static SyntheticActivations Source(SyntheticOptions data) => new(data with { DownstreamEvery = 4 });

    // --data PATH: the activation files (validated now, before any work), or null for the synthetic data.
    private static FileActivations? OpenFiles(ParseResult r, Options o, int seed) => r.GetValue(o.Data) is not { } path ? null
        : CliOptions.Checked(() => new FileActivations(path, new FileActivationOptions(r.GetValue(o.ShuffleBuffer), seed, r.GetValue(o.Normalize), r.GetValue(o.Tensor), CliOptions.Skips(r.GetValue(o.NonFinite)))));

    /// <summary><c>--aux KIND</c>: none | auxk | aux-zipf (default auxk).</summary>
    public static Option<string> AuxOption()
    {
        var option = CliOptions.Value("--aux", "auxk", "KIND", "auxiliary loss: none | auxk | aux-zipf (coefficient 1/32)");
        option.AcceptOnlyFromAmong("none", "auxk", "aux-zipf");
        return option;
    }

    /// <summary>The auxiliary loss named by <c>--aux</c>.</summary>
    public static AuxLossKind ReadAux(string name) => name switch
    {
        "none" => AuxLossKind.None,
        "aux-zipf" => AuxLossKind.AuxZipf,
        _ => AuxLossKind.AuxK,
    };
}
