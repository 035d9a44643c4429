using System.Text.Json;
using SaeGpu.Data;
using SaeGpu.Formats;
using SaeGpu.Cli;
using SaeGpu.Training;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Cli;

public class CliTests : TempDirectory
{
    [Fact]
    public void Train_Json_LastLineHasTheReportedMetrics()
    {
        var output = new StringWriter();
        string ckpt = Path.Combine(Dir, "s.saeckpt");
        // 1,500 steps: this SAE recovers 46 % of the 24 true features after 300 steps and 100 % after 1,500 (measured).
        int code = SaeCli.Invoke(["train", "--steps", "1500", "--batch", "256", "--d", "16", "--features", "24", "--latents", "48",
            "--k", "4", "--mean-active", "2", "--json", "--out", ckpt, "--backend", "cpu"], output);
        Assert.Equal(0, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        using var json = JsonDocument.Parse(lines[^1]);
        var root = json.RootElement;
        foreach (var key in new[] { "fvu", "l0", "dead_fraction", "recovered_fraction", "steps", "tokens_per_second" })
            Assert.True(root.TryGetProperty(key, out _), $"missing {key}");
        Assert.Equal(1500, root.GetProperty("steps").GetInt32());
        Assert.InRange(root.GetProperty("fvu").GetDouble(), 0, 0.5);
        Assert.InRange(root.GetProperty("l0").GetDouble(), 0.5, 4);
        Assert.True(root.GetProperty("recovered_fraction").GetDouble() > 0.5);
        Assert.Contains(lines, l => l.StartsWith("step ", StringComparison.Ordinal));
        Assert.True(File.Exists(ckpt));
    }

    /// <summary>
    /// GBA with every CLI default (bias updates every 50 steps, 1,500 steps × 1,024 tokens, d 64, 256 features, F 512, k 8):
    /// measured FVU 0.27, L0 6.4, 67 % of the features recovered; before the first-step bias setting it reached L0 47 and 0 %.
    /// </summary>
    [Fact]
    public void Train_Gba_AtTheCliDefaults_ReachesItsTargetsAndLearns()
    {
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["train", "--arch", "gba", "--json", "--out", Path.Combine(Dir, "gba")], output));
        var root = JsonDocument.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]).RootElement;
        Assert.InRange(root.GetProperty("l0").GetDouble(), 4, 12);
        Assert.InRange(root.GetProperty("fvu").GetDouble(), 0, 0.35);
        Assert.True(root.GetProperty("recovered_fraction").GetDouble() >= 0.5, $"recovered {root.GetProperty("recovered_fraction").GetDouble():P1}");
    }

    [Fact]
    public void Compare_PrintsOneRowPerArchitecture()
    {
        var output = new StringWriter();
        int code = SaeCli.Invoke(["compare", "--archs", "topk,relu", "--steps", "60", "--batch", "128", "--d", "16", "--features", "24",
            "--latents", "48", "--k", "4", "--json"], output);
        Assert.Equal(0, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("| topk |", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("| relu |", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(lines[^1]);
        Assert.Equal(2, json.RootElement.GetArrayLength());
        Assert.Equal("relu", json.RootElement[1].GetProperty("arch").GetString());
    }

    [Fact]
    public void Train_WithArch_ReportsIt()
    {
        var output = new StringWriter();
        SaeCli.Invoke(["train", "--arch", "batchtopk", "--steps", "20", "--batch", "64", "--d", "16", "--features", "24", "--latents", "48",
            "--k", "4", "--json", "--out", Path.Combine(Dir, "b.saeckpt")], output);
        using var json = JsonDocument.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal("batchtopk", json.RootElement.GetProperty("arch").GetString());
        Assert.True(json.RootElement.TryGetProperty("firing_histogram", out _));
    }

    [Fact]
    public void Train_Matryoshka_SavesWidths_AndReportsPrefixFvu()
    {
        var output = new StringWriter();
        string ckpt = Path.Combine(Dir, "m.saeckpt");
        int code = SaeCli.Invoke(["train", "--arch", "matryoshka-topk", "--widths", "8,24", "--prefix-weights", "1,1,2", "--steps", "200",
            "--batch", "128", "--d", "16", "--features", "24", "--latents", "48", "--k", "4", "--json", "--out", ckpt], output);
        Assert.Equal(0, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("Prefix FVU", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(lines[^1]);
        Assert.Equal("matryoshka-topk", json.RootElement.GetProperty("arch").GetString());
        Assert.Equal([8, 24, 48], json.RootElement.GetProperty("widths").EnumerateArray().Select(e => e.GetInt32()));
        var prefixFvu = json.RootElement.GetProperty("prefix_fvu").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.True(prefixFvu[0] > prefixFvu[2], string.Join(", ", prefixFvu));
        using var loaded = SaeGpu.Formats.Checkpoint.Load(SaeGpu.Tests.Support.TestBackends.Cpu, ckpt);
        Assert.Equal([8, 24, 48], loaded.Config.MatryoshkaWidths!);
    }

    [Fact]
    public void Absorption_PrintsOneRowPerModel_WithLevels()
    {
        var output = new StringWriter();
        int code = SaeCli.Invoke(["absorption", "--steps", "30", "--batch", "128", "--d", "16", "--trees", "4", "--branching", "2", "--levels", "3",
            "--latents", "32", "--random-prefixes", "3", "--eval-tokens", "256", "--json"], output);
        Assert.Equal(0, code);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var model in new[] { "topk", "batchtopk", "matryoshka-topk", "matryoshka-batchtopk", "matryoshka-batchtopk, 3 random prefixes" })
            Assert.Contains(lines, l => l.StartsWith($"| {model} |", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(lines[^1]);
        Assert.Equal(5, json.RootElement.GetArrayLength());
        Assert.Equal(3, json.RootElement[0].GetProperty("level_recovered_fraction").GetArrayLength());
        Assert.InRange(json.RootElement[0].GetProperty("absorption").GetDouble(), 0, 1);
        Assert.Equal(30 * 128 / 10, json.RootElement[0].GetProperty("dead_window_tokens").GetInt64());
    }

    [Fact]
    public void Itda_BuildEncodeCompare_ReportTheirResults()
    {
        string a = Path.Combine(Dir, "a.itda"), b = Path.Combine(Dir, "b.itda");
        string[] common = ["--tokens", "4096", "--batch", "512", "--d", "16", "--features", "24", "--k", "4"];
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["itda", "build", .. common, "--out", a, "--compare-topk", "--json"], output));
        Assert.Equal(0, SaeCli.Invoke(["itda", "build", .. common, "--out", b, "--threshold", "0.05"], output));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.StartsWith("TopK SAE", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(lines.Last(l => l.StartsWith('{')));
        Assert.True(json.RootElement.GetProperty("atoms").GetInt32() >= 16);
        Assert.InRange(json.RootElement.GetProperty("fvu").GetDouble(), 0, 1);
        var cmp = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["itda", "compare", "--a", a, "--b", b], cmp));
        Assert.Contains("Jaccard", cmp.ToString());
        var enc = new StringWriter();
        string codesPath = Path.Combine(Dir, "c.codes");
        Assert.Equal(0, SaeCli.Invoke(["itda", "encode", "--dict", a, "--d", "16", "--features", "24", "--tokens", "300", "--out", codesPath], enc));
        Assert.Contains("FVU", enc.ToString());
        var (offsets, indices, values, latents) = SaeGpu.Formats.CodesFile.Load(codesPath);
        Assert.Equal(301, offsets.Length);
        Assert.Equal(json.RootElement.GetProperty("atoms").GetInt32(), latents);
        Assert.Equal(indices.Length, values.Length);
        Assert.InRange(offsets[300], 1, 300 * 4);
    }

    /// <summary>itda --data builds from the file's rows in order: the same rows as the synthetic stream give the same atoms (Jaccard 1).</summary>
    [Fact]
    public void Itda_OnActivationFiles_EqualsTheSameRowsFromTheStream()
    {
        string npy = Path.Combine(Dir, "x.npy"), fromFile = Path.Combine(Dir, "f.itda"), fromStream = Path.Combine(Dir, "s.itda");
        var rows = new float[5120 * 16];
        new SyntheticActivations(new SyntheticOptions(InputDim: 16, Features: 24)).NextBatch(rows);
        using (var writer = new NpyWriter(npy, 16)) { writer.Append(rows); writer.Complete(); }
        string[] common = ["--tokens", "4096", "--batch", "512", "--k", "4"];
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["itda", "build", .. common, "--data", npy, "--out", fromFile], output));
        Assert.Contains("5120 rows of", output.ToString());
        Assert.Equal(0, SaeCli.Invoke(["itda", "build", .. common, "--d", "16", "--features", "24", "--out", fromStream], output));
        var cmp = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["itda", "compare", "--a", fromFile, "--b", fromStream], cmp));
        Assert.Contains("Jaccard similarity of atom labels: 1.0000", cmp.ToString());
        var enc = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["itda", "encode", "--dict", fromFile, "--data", npy, "--tokens", "300"], enc));
        Assert.Contains("300 tokens: FVU", enc.ToString());
        // A dictionary of another width is refused on the synthetic data with a pointer to --data.
        Assert.Contains("--data", Assert.Throws<CliException>(() => SaeCli.Invoke(["itda", "encode", "--dict", fromFile, "--d", "8"], TextWriter.Null)).Message);
    }

    [Fact]
    public void DarkMatter_ReportsLinearShare_GradientPursuit_AndComparison()
    {
        string a = Path.Combine(Dir, "a.saeckpt"), b = Path.Combine(Dir, "b.saeckpt");
        string[] data = ["--d", "16", "--features", "24", "--mean-active", "2"];
        SaeCli.Invoke(["train", "--steps", "100", "--batch", "128", "--latents", "32", "--k", "3", "--out", a, .. data], TextWriter.Null);
        SaeCli.Invoke(["train", "--steps", "100", "--batch", "128", "--latents", "64", "--k", "3", "--out", b, .. data], TextWriter.Null);
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["darkmatter", "--sae", a, "--compare", b, "--tokens", "2000", "--json", .. data], output));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains(lines, l => l.Contains("gradient pursuit", StringComparison.Ordinal));
        using var json = JsonDocument.Parse(lines[^1]);
        var root = json.RootElement;
        Assert.Equal(1.0, root.GetProperty("linear_share").GetDouble() + root.GetProperty("nonlinear_share").GetDouble(), 6);
        Assert.InRange(root.GetProperty("norm_correlation").GetDouble(), -1, 1);
        Assert.Equal(3, root.GetProperty("gp_k").GetInt32());
    }

    [Fact]
    public void Itda_Encode_ThrowsForForeignFile()
    {
        string path = Path.Combine(Dir, "x.itda");
        File.WriteAllText(path, "nope");
        Assert.Contains("not an ITDA dictionary", Assert.Throws<SaeFormatException>(() => SaeCli.Invoke(["itda", "encode", "--dict", path], TextWriter.Null)).Message);
    }

    [Fact]
    public void Train_OnActivationFiles_SavesALoadableSaeLensFolder()
    {
        string shard = Path.Combine(Dir, "acts", "x.npy");
        var rng = new Random(1);
        using (var w = new NpyWriter(shard, 8))
        {
            w.Append([.. Enumerable.Range(0, 2000 * 8).Select(_ => (float)rng.NextDouble())]);
            w.Complete();
        }
        string outDir = Path.Combine(Dir, "trained");
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["train", "--data", Path.Combine(Dir, "acts"), "--normalize", "--latents", "16", "--k", "2", "--steps", "30",
            "--batch", "64", "--out", outDir, "--json"], output));
        Assert.Contains("2000 activations in 1 file(s)", output.ToString());
        using var json = JsonDocument.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.False(json.RootElement.TryGetProperty("recovered_fraction", out _));
        using var sae = SaeGpu.Formats.SaeFiles.Load(SaeGpu.Tests.Support.TestBackends.Cpu, outDir);
        Assert.Equal(8, sae.Config.InputDim);
    }

    [Fact]
    public void Train_StoppedAndResumed_OnNormalizedFiles_SavesTheUninterruptedRunsWeights()
    {
        string data = Path.Combine(Dir, "acts.npy");
        var rng = new Random(2);
        using (var w = new NpyWriter(data, 8))
        {
            w.Append([.. Enumerable.Range(0, 900 * 8).Select(_ => (float)rng.NextDouble())]);
            w.Complete();
        }
        string[] run = ["--data", data, "--normalize", "--shuffle-buffer", "300", "--latents", "16", "--k", "2", "--steps", "25",
            "--batch", "64", "--checkpoint-every", "7", "--arch", "batchtopk", "--log-every", "50"];
        string full = Path.Combine(Dir, "full"), part = Path.Combine(Dir, "part");
        Assert.Equal(0, SaeCli.Invoke(["train", .. run, "--out", full], TextWriter.Null));
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["train", .. run, "--out", part, "--stop-after", "10"], output));
        Assert.Contains($"--resume {part}", output.ToString());
        Assert.True(File.Exists(SaeGpu.Formats.SaeFiles.StatePath(part)));
        output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["train", "--resume", part, "--log-every", "5"], output));
        Assert.Contains("Resumed at step 10", output.ToString());
        Assert.DoesNotContain("step      5", output.ToString());
        Assert.Contains("step     15", output.ToString());   // --log-every 5 given now replaces the saved 50
        string weights = SaeGpu.Formats.SaeLensFormat.WeightsFile;
        Assert.Equal(File.ReadAllBytes(Path.Combine(full, weights)), File.ReadAllBytes(Path.Combine(part, weights)));
        Assert.False(File.Exists(SaeGpu.Formats.SaeFiles.StatePath(part)), "a completed run removes its state");
        // The metrics of every step, the resumed ones included, equal the uninterrupted run's; the plots are PNGs.
        var csv = File.ReadAllLines(Path.Combine(part, "metrics.csv"));
        Assert.Equal(26, csv.Length);
        Assert.Equal(File.ReadAllLines(Path.Combine(full, "metrics.csv")), csv);
        foreach (string png in new[] { "training_curves.png", "feature_density.png" })
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(part, png))[..4]);
    }

    [Fact]
    public void Train_Resume_RebuildsAGarbledMetricsCsv_FromTheState()
    {
        string[] args = ["train", "--steps", "12", "--batch", "32", "--d", "8", "--features", "8", "--latents", "16", "--k", "2"];
        string full = Path.Combine(Dir, "full"), part = Path.Combine(Dir, "part");
        SaeCli.Invoke([.. args, "--out", full], TextWriter.Null);
        SaeCli.Invoke([.. args, "--out", part, "--stop-after", "5"], TextWriter.Null);
        // The metrics are committed with the state: a csv edited, truncated or left behind by a crash cannot break the resume.
        File.WriteAllText(Path.Combine(part, "metrics.csv"), "step,loss\n1,x\n");
        SaeCli.Invoke(["train", "--resume", part], TextWriter.Null);
        Assert.Equal(File.ReadAllLines(Path.Combine(full, "metrics.csv")), File.ReadAllLines(Path.Combine(part, "metrics.csv")));
    }

    [Fact]
    public void Train_ThrowsForResumeWithAChangedOption()
    {
        string part = Path.Combine(Dir, "part");
        SaeCli.Invoke(["train", "--steps", "20", "--batch", "32", "--d", "8", "--features", "8", "--latents", "16", "--k", "2", "--out", part, "--stop-after", "3"], TextWriter.Null);
        Assert.Contains("--steps", Assert.Throws<CliException>(() => SaeCli.Invoke(["train", "--resume", part, "--steps", "30"], TextWriter.Null)).Message);
    }

    [Fact]
    public void EvalAndEncode_OfASavedSae_MatchDirectComputation_InFileOrder()
    {
        var rng = new Random(2);
        var rows = Enumerable.Range(0, 700 * 8).Select(_ => (float)rng.NextDouble() - 0.3f).ToArray();
        string dir = Path.Combine(Dir, "acts");
        foreach (var (name, lo, hi) in new[] { ("a.npy", 0, 500), ("b.npy", 500, 700) })
            using (var w = new NpyWriter(Path.Combine(dir, name), 8)) { w.Append(rows.AsSpan(lo * 8, (hi - lo) * 8)); w.Complete(); }
        var be = SaeGpu.Tests.Support.TestBackends.Cpu;
        using var sae = SaeGpu.SparseAutoencoder.CreateRandom(be, new SaeGpu.SaeConfig(8, 32, 3), seed: 4);
        string saePath = Path.Combine(Dir, "lens");
        SaeGpu.Formats.SaeFiles.Save(sae, saePath);
        using var direct = sae.EncodeCodes(rows);
        double fvu = SaeGpu.Evaluation.Metrics.Fvu(rows, sae.Decode(direct), 8);
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["eval", "--sae", saePath, "--data", dir, "--batch", "128", "--json"], output));
        using var json = JsonDocument.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.Equal(700, json.RootElement.GetProperty("tokens").GetInt64());
        Assert.Equal(fvu, json.RootElement.GetProperty("fvu").GetDouble(), 5);
        Assert.Equal(3.0, json.RootElement.GetProperty("l0").GetDouble(), 9);
        string codesPath = Path.Combine(Dir, "c.bin");
        Assert.Equal(0, SaeCli.Invoke(["encode", "--sae", saePath, "--data", dir, "--batch", "100", "--out", codesPath], TextWriter.Null));
        var (offsets, indices, values, latents) = SaeGpu.Formats.CodesFile.Load(codesPath);
        var (o, i, v) = direct.ToHost();
        Assert.Equal(o, offsets);
        Assert.Equal(i, indices);
        SaeGpu.Tests.Support.Tolerance.AssertClose(v, values, 1e-6, 1e-6, "values");
        Assert.Equal(32, latents);
    }

    [Fact]
    public void Eval_ThrowsForWidthMismatch()
    {
        string shard = Path.Combine(Dir, "w.npy");
        using (var w = new NpyWriter(shard, 5)) { w.Append(new float[10]); w.Complete(); }
        using var sae = SaeGpu.SparseAutoencoder.CreateRandom(SaeGpu.Tests.Support.TestBackends.Cpu, new SaeGpu.SaeConfig(8, 16, 2), seed: 1);
        string ckpt = Path.Combine(Dir, "s.saeckpt");
        SaeGpu.Formats.SaeFiles.Save(sae, ckpt);
        Assert.Contains("expects d = 8", Assert.Throws<CliException>(() => SaeCli.Invoke(["eval", "--sae", ckpt, "--data", shard], TextWriter.Null)).Message);
    }

    /// <summary>
    /// darkmatter --data analyses the activation files' first rows (all of them when --tokens exceeds them) and equals the
    /// report on the same rows from the synthetic stream they were written from.
    /// </summary>
    [Fact]
    public void DarkMatter_OnActivationFiles_AnalysesTheirRows()
    {
        string sae = Path.Combine(Dir, "a.saeckpt"), npy = Path.Combine(Dir, "x.npy");
        string[] data = ["--d", "16", "--features", "24", "--mean-active", "2"];
        SaeCli.Invoke(["train", "--steps", "100", "--batch", "128", "--latents", "32", "--k", "3", "--out", sae, .. data], TextWriter.Null);
        var rows = new float[1500 * 16];
        new SyntheticActivations(new SyntheticOptions(InputDim: 16, Features: 24, MeanActive: 2, StreamSeed: 1)).NextBatch(rows);
        using (var writer = new NpyWriter(npy, 16)) { writer.Append(rows); writer.Complete(); }

        double[] Report(params string[] args)
        {
            var output = new StringWriter();
            Assert.Equal(0, SaeCli.Invoke(["darkmatter", "--sae", sae, "--json", .. args], output));
            using var json = JsonDocument.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
            return [json.RootElement.GetProperty("tokens").GetInt32(), json.RootElement.GetProperty("fvu").GetDouble(), json.RootElement.GetProperty("predictable_fraction").GetDouble()];
        }

        var fromFile = Report("--data", npy, "--tokens", "5000");
        Assert.Equal(1500, fromFile[0]);
        Assert.Equal(Report([.. data, "--tokens", "1500"]), fromFile);   // the synthetic stream darkmatter reads is StreamSeed = seed + 1
        Assert.Contains("with --data", Assert.Throws<CliException>(() => SaeCli.Invoke(["darkmatter", "--sae", sae, "--d", "8"], TextWriter.Null)).Message);
    }

    /// <summary>
    /// Every command-line error is a <see cref="CliException"/> raised before any work, naming what is wrong: unknown or
    /// malformed options (System.CommandLine's parse errors) and values the library rejects.
    /// </summary>
    [Theory]
    [InlineData("--sae", "darkmatter")]   // ThrowsWithoutSae
    [InlineData("make", "itda", "make")]   // ThrowsForUnknownSubcommand
    [InlineData("PrefixWeights has 2", "train", "--arch", "matryoshka", "--prefix-weights", "1,2")]   // ThrowsForPrefixWeightCountMismatch_BeforeTraining
    [InlineData("training_state.saestate", "train", "--resume", "no-such-run")]   // ThrowsForResumeWithoutAState
    [InlineData("strictly increasing", "train", "--arch", "matryoshka", "--widths", "64,32")]   // ThrowsForBadWidths
    [InlineData("--widths", "train", "--widths", "a,b")]   // ThrowsForNonNumericWidths
    [InlineData("relu", "train", "--arch", "matryoshka-relu")]   // ThrowsForMatryoshkaOfRelu
    [InlineData("feature-choice", "train", "--arch", "topq")]   // ThrowsForUnknownArch
    [InlineData("aux-zipf", "train", "--aux", "zipf")]   // ThrowsForUnknownAux
    [InlineData("--latnets", "train", "--latnets", "5")]   // ThrowsForUnknownOption
    [InlineData("--k", "train", "--k", "many")]   // ThrowsForBadNumber
    [InlineData("K must be", "train", "--k", "0")]   // ThrowsForInvalidConfig_BeforeTraining
    [InlineData("--steps", "train", "--steps")]   // ThrowsForMissingValue
    [InlineData("tpu", "train", "--backend", "tpu", "--steps", "1")]   // ThrowsForUnknownBackend
    [InlineData("--l0 is an option of jumprelu, jumprelu-tanh, not of topk", "train", "--l0", "0.1")]   // an architecture option of another architecture
    [InlineData("--archs names no architecture", "compare", "--archs", ",")]
    public void BadCommandLine_ThrowsNamingTheProblem(string mustMention, params string[] args) =>
        Assert.Contains(mustMention, Assert.Throws<CliException>(() => SaeCli.Invoke(args, TextWriter.Null)).Message, StringComparison.Ordinal);

    [Theory]
    [InlineData("train", "--latnets", "5")]
    [InlineData("train", "--k", "many")]
    [InlineData("itda", "make")]
    [InlineData("eval", "--data", "x.npy")]
    public void BadCommandLine_ExitsWith2_PrintingTheErrorAndTheUsageLine(params string[] args)
    {
        var error = new StringWriter();
        Assert.Equal(2, SaeCli.Run(args, TextWriter.Null, error));
        string[] lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith($"usage: sae {args[0]}", lines[^1], StringComparison.Ordinal);
    }

    [Fact]
    public void Completion_SuggestsCommandsOptionsAndArchitectures()
    {
        static string[] Suggest(string line)
        {
            var output = new StringWriter();
            Assert.Equal(0, SaeCli.Run([$"[suggest:{line.Length}]", line], output, TextWriter.Null));
            return output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }

        Assert.Contains("train", Suggest("sae tr"));
        Assert.Contains("--checkpoint-every", Suggest("sae train --check"));
        Assert.Equal(["matryoshka", "matryoshka-abstopk", "matryoshka-batchtopk", "matryoshka-topk"], Suggest("sae train --arch matr"));
        var script = new StringWriter();
        Assert.Equal(0, SaeCli.Run(["completion"], script, TextWriter.Null));
        Assert.Contains("complete -o default -F _sae_complete sae", script.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Bench_Verify_ReportsAgreement()
    {
        var output = new StringWriter();
        int code = SaeCli.Invoke(["bench", "--backend", "cpu", "--verify", "reference", "--d", "16", "--latents", "64", "--k", "4", "--batch", "32", "--steps", "1", "--json"], output);
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.True(json.RootElement.GetProperty("verify_ok").GetBoolean());
        Assert.True(json.RootElement.GetProperty("encode_gflops").GetDouble() > 0);
    }

    /// <summary>
    /// A seeded CPU training run gives the same SAE bit for bit whatever the number of cores (.NET's
    /// DOTNET_PROCESSOR_COUNT in a child `sae train`): no reduction's order and no chunk's vector/scalar split depends on
    /// it. d 20 and F 2000 put the element-wise ops' chunk borders off the 8-float vectors when chunks are split by cores.
    /// </summary>
    [Fact]
    public void Train_SameSae_OnAnyNumberOfCores()
    {
        byte[] Train(int cores)
        {
            string ckpt = Path.Combine(Dir, $"c{cores}.saeckpt");
            var (exit, stdout, stderr) = CliProcess.Run(
                ["train", "--steps", "30", "--batch", "256", "--d", "20", "--features", "24", "--latents", "2000", "--k", "4",
                 "--backend", "cpu", "--out", ckpt],
                new Dictionary<string, string> { ["DOTNET_PROCESSOR_COUNT"] = cores.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            Assert.True(exit == 0, $"sae train with {cores} cores exited {exit}: {stderr}{stdout}");
            return File.ReadAllBytes(ckpt);
        }

        Assert.Equal(Train(1), Train(3));
    }
}
