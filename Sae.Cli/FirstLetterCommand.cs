using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using SaeGpu.Data;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae first-letter</c>: first-letter feature absorption (<see cref="FirstLetterAbsorption"/>) of one or more SAEs on
/// real activations whose token ids <c>sae extract</c> wrote beside them: per SAE, the letters scored, the probes' F1, how
/// often the letter's main latents stay silent, full absorption and the absorption fraction.
/// </summary>
public static class FirstLetterCommand
{
    /// <summary>The <c>first-letter</c> command, writing to <paramref name="output"/>.</summary>
    public static Command Create(TextWriter output)
    {
        var command = new Command("first-letter", "First-letter feature absorption (SAEBench's idea) of SAEs on real activations with token ids (sae extract's NAME.tokens.npy).");
        var saes = CliOptions.Names("--sae", "PATH,PATH,...", "the SAEs to measure (native files, SAELens or sparsify folders)");
        saes.Required = true;
        var data = CliOptions.Required("--data", "PATH", "activations: .npy file or folder of shards, each with its NAME.tokens.npy (read in file order)");
        var tensor = CliOptions.Text("--tensor", "NAME", "safetensors tensor to read (default: the only 2-D one)");
        var tokens = CliOptions.Value("--tokens", 200_000L, "N", "rows read (at most the files' rows)");
        var vocab = CliOptions.Text("--vocab", "PATH", "vocabulary of the token ids, one piece a line (default: MiniLM's, the one sae extract uses)");
        var seed = CliOptions.Seed();
        var perLetter = CliOptions.Flag("--per-letter", "also print each letter's row");
        var backend = CliOptions.Backend();
        var json = CliOptions.Json("one JSON array with a report per SAE");
        foreach (Option o in new Option[] { saes, data, tensor, tokens, vocab, seed, perLetter, backend, json }) command.Add(o);
        command.SetAction(r => Run(output, r.GetList(saes)!, r.GetValue(data)!, r.GetValue(tensor), r.GetValue(tokens), r.GetValue(vocab), r.GetValue(seed),
            r.GetValue(perLetter), r.GetValue(backend), r.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter output, string[] saePaths, string dataPath, string? tensor, long tokens, string? vocab, int seed, bool perLetter,
        string? backendName, bool json)
    {
        if (tokens < 2) throw new CliException($"--tokens must be ≥ 2, got {tokens}.");
        using var backend = CliOptions.CreateBackend(backendName);
        using var files = CliOptions.Checked(() => new FileActivations(dataPath, new FileActivationOptions(ShuffleBuffer: 1, TensorName: tensor)));
        CliOptions.CheckFinite(files);
        var saes = saePaths.Select(p => CliOptions.Checked(() => SparseAutoencoder.Load(p, backend))).ToList();
        try
        {
            foreach (var (sae, path) in saes.Zip(saePaths))
                if (sae.Config.InputDim != files.InputDim) throw new CliException($"'{path}' expects d = {sae.Config.InputDim}; '{dataPath}' has rows of {files.InputDim} values.");
            var words = ActivationTokens.Read(files, tokens, vocab);
            var x = files.InOrder((int)Math.Min(words.Length, 65_536), words.Length).SelectMany(m => m.ToArray()).ToArray();
            output.WriteLine($"{dataPath}: {words.Length} tokens, {words.Count(FirstLetterAbsorption.IsWord)} of them words of two or more letters; seed {seed}.");
            output.WriteLine();
            var o = new FirstLetterOptions(Seed: seed);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"A letter is scored when its probe reaches F1 {o.MinProbeF1} on the test words, finds {o.MinTestTokens} of them, and the SAE has latents for it (main F1 ≥ {o.MinMainF1})."));
            output.WriteLine();
            output.WriteLine($"| SAE | arch | probe F1 ≥ {o.MinProbeF1} | letters scored | probe F1 | main F1 | main latents | main silent | full absorption | absorption fraction |");
            output.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            var reports = new List<Dictionary<string, object>>();
            foreach (var (sae, path) in saes.Zip(saePaths))
            {
                var report = FirstLetterAbsorption.Measure(sae, x, words, o);
                var scored = report.Letters.Where(l => l.Scored).ToArray();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {path} | {sae.Config.Name} | {report.Letters.Count(l => l.ProbeF1 >= o.MinProbeF1)} of {report.Letters.Count} | {scored.Length} | {Mean(scored, l => l.ProbeF1):F3} | {Mean(scored, l => l.MainF1):F3} | {Mean(scored, l => l.MainLatents.Count):F1} | {report.MeanMainMiss:F3} | {report.MeanFullAbsorption:F3} | {report.MeanAbsorptionFraction:F3} |"));
                reports.Add(new() { ["sae"] = path, ["arch"] = sae.Config.Name, ["report"] = report });
            }
            if (perLetter) PrintLetters(output, saePaths, reports.Select(r => (FirstLetterAbsorption)r["report"]).ToList());
            if (json) output.WriteLine(JsonSerializer.Serialize(reports));
            return 0;
        }
        finally
        {
            foreach (var sae in saes) sae.Dispose();
        }
    }

    private static double Mean(LetterAbsorption[] letters, Func<LetterAbsorption, double> f) => letters.Length == 0 ? double.NaN : letters.Average(f);

    private static void PrintLetters(TextWriter output, string[] paths, List<FirstLetterAbsorption> reports)
    {
        output.WriteLine();
        output.WriteLine("| SAE | letter | test tokens | probe F1 | recognized | main latents | main F1 | main silent | full absorption | absorption fraction | scored |");
        output.WriteLine("|---|---|---:|---:|---:|---|---:|---:|---:|---:|---|");
        foreach (var (path, report) in paths.Zip(reports))
            foreach (var l in report.Letters)
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {path} | {l.Letter} | {l.TestTokens} | {l.ProbeF1:F3} | {l.ProbePositives} | {string.Join(" ", l.MainLatents)} | {l.MainF1:F3} | {l.MainMiss:F3} | {l.FullAbsorption:F3} | {l.AbsorptionFraction:F3} | {(l.Scored ? "yes" : "no")} |"));
    }
}
