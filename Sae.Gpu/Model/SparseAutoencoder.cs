using SaeGpu.Compute;
using SaeGpu.Training;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>
/// A sparse autoencoder on one <see cref="SaeGpu.Backend"/>: weights W_enc [F, d], b_enc [F], W_dec [F, d] (unit-norm rows
/// after training), b_dec [d], and the architecture's per-latent parameters [F] (e.g. JumpReLU's <c>threshold</c>).
/// <see cref="Encode(ReadOnlySpan{float})"/> computes <c>pre = (x − b_dec)·W_encᵀ + b_enc</c> and the architecture's
/// selection (e.g. <c>a = TopK_k(ReLU(pre))</c>) as a CSR <see cref="SparseBatch"/>; <see cref="Decode(SparseBatch)"/>
/// computes <c>x̂ = a·W_dec + b_dec</c>. Create one with <see cref="Create"/>, <see cref="Load"/> (SaeGpu's native file,
/// a SAELens or a sparsify folder) or by training (<see cref="Trainer"/>, <see cref="TrainingRun"/>); save with
/// <see cref="Save"/>. Encoding and decoding reuse device buffers sized by the last batch, so an instance serves one call at
/// a time (calls are serialized by a lock). Owns device memory: dispose it.
/// </summary>
public sealed class SparseAutoencoder : IDisposable
{
    private readonly (string Name, Tensor<float> Tensor)[] latentParameters;
    private readonly Lock sessionLock = new();
    private EncodeSession? session;
    private SparseCodes? decodeCodes;
    private Tensor<float>? decodeOutput;

    private SparseAutoencoder(Backend backend, SaeConfig config)
    {
        Backend = backend;
        Config = config.Validate();
        int d = config.InputDim, f = config.Latents;
        WEnc = backend.Allocate<float>((long)f * d);
        BEnc = backend.Allocate<float>(f);
        WDec = backend.Allocate<float>((long)f * d);
        BDec = backend.Allocate<float>(d);
        latentParameters = [.. config.Strategy.LatentParameters.Select(n => (n, backend.Allocate<float>(f)))];
    }

    /// <summary>
    /// A new SAE of shape and architecture <paramref name="config"/> on <paramref name="backend"/> (null:
    /// <see cref="Backend.Default"/>), initialized for training from <paramref name="seed"/>: W_dec rows uniform on the unit
    /// sphere, W_enc = s·W_dec (s is the architecture's encoder scale), every bias and latent parameter 0.
    /// </summary>
    public static SparseAutoencoder Create(SaeConfig config, Backend? backend = null, int seed = 0) =>
        CreateRandom(backend ?? Backend.Default, config, seed);

    /// <summary>
    /// Loads an SAE from <paramref name="path"/> onto <paramref name="backend"/> (null: <see cref="Backend.Default"/>): a
    /// <c>.saeckpt</c> file (SaeGpu's native format), or a folder in SAELens (<c>cfg.json</c> + <c>sae_weights.safetensors</c>)
    /// or sparsify (<c>cfg.json</c> + <c>sae.safetensors</c>) format. Throws <see cref="FileNotFoundException"/> when nothing is
    /// there and <see cref="SaeFormatException"/> naming the file and the problem when it cannot be read.
    /// </summary>
    public static SparseAutoencoder Load(string path, Backend? backend = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Formats.SaeFiles.Load(backend ?? Backend.Default, path);
    }

    /// <summary>
    /// Saves this SAE to <paramref name="path"/> in <paramref name="format"/> (null: <see cref="SaeFormat.Native"/> when the
    /// path ends in <c>.saeckpt</c>, else <see cref="SaeFormat.SaeLens"/>). Every file is written atomically (a temporary file,
    /// then a rename), so an interrupted save leaves the previous files whole.
    /// </summary>
    public void Save(string path, SaeFormat? format = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        switch (format ?? Formats.SaeFiles.FormatOf(path))
        {
            case SaeFormat.Native: Formats.Checkpoint.Save(this, path); break;
            case SaeFormat.SaeLens: Formats.SaeLensFormat.Save(this, path); break;
            default: throw new ArgumentOutOfRangeException(nameof(format), format, "Not a SaeFormat.");
        }
    }

    /// <summary>Encodes rows x [B, d] (B = x.Length / d): the sparse codes [B, F] of the architecture's inference rule, in a new batch.</summary>
    public SparseBatch Encode(ReadOnlySpan<float> x)
    {
        var batch = new SparseBatch();
        Encode(x, batch);
        return batch;
    }

    /// <summary>
    /// Encodes rows x [B, d] (B = x.Length / d) into <paramref name="destination"/>, overwriting it. Per-token TopK rules
    /// select while encoding (no [B, F] matrix); once a batch of B rows has been seen, encoding B rows again allocates nothing.
    /// </summary>
    public void Encode(ReadOnlySpan<float> x, SparseBatch destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        int b = RowsOf(x, nameof(x));
        lock (sessionLock)
        {
            var s = Session(b);
            Backend.Upload(x, s.X);
            s.Selector.Encode(s.X, s.Pre, s.Codes);
            destination.CopyFrom(s.Codes);
        }
    }

    /// <summary>Decodes <paramref name="codes"/> [B, F] to a new array x̂ [B, d] = codes·W_dec + b_dec.</summary>
    public float[] Decode(SparseBatch codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        var xhat = new float[(long)codes.Rows * Config.InputDim];
        Decode(codes, xhat);
        return xhat;
    }

    /// <summary>
    /// Decodes <paramref name="codes"/> [B, F] into <paramref name="destination"/> [B, d]: x̂ = codes·W_dec + b_dec. Throws
    /// <see cref="ArgumentException"/> when the destination is not B·d long or a latent index is ≥ F.
    /// </summary>
    public void Decode(SparseBatch codes, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(codes);
        long need = (long)codes.Rows * Config.InputDim;
        if (destination.Length != need)
            throw new ArgumentException($"destination has {destination.Length} values; {codes.Rows} rows of d = {Config.InputDim} need {need}.", nameof(destination));
        if (codes.Rows == 0) return;   // Backend.SparseDecode checks the codes' latents against F
        lock (sessionLock)
        {
            var (device, output) = DecodeBuffers(codes.Rows, codes.Count);
            codes.CopyTo(device);
            Backend.SparseDecode(device, WDec, BDec, output);
            Backend.Download(output, destination);
        }
    }

    /// <summary>
    /// Reconstruction metrics of rows x [B, d]: FVU, MSE, L0, the fraction of latents that never fire on x, the firing
    /// histogram and (for a Matryoshka SAE) each prefix's FVU. See <see cref="Evaluate(IEnumerable{ReadOnlyMemory{float}}, Action{SparseBatch}?)"/> for a stream.
    /// </summary>
    public SaeMetrics Evaluate(ReadOnlySpan<float> x)
    {
        var metrics = new Evaluation.MetricsAccumulator(this);
        metrics.Add(x);
        return metrics.Result();
    }

    /// <summary>
    /// The metrics of <see cref="Evaluate(ReadOnlySpan{float})"/> over every batch of <paramref name="batches"/> (each [B, d],
    /// B may vary), accumulated exactly (FVU uses the mean over all rows); <paramref name="onCodes"/>, when given, receives each
    /// batch's codes (e.g. to write them out). Throws for an empty stream.
    /// </summary>
    public SaeMetrics Evaluate(IEnumerable<ReadOnlyMemory<float>> batches, Action<SparseBatch>? onCodes = null)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var metrics = new Evaluation.MetricsAccumulator(this);
        foreach (var batch in batches)
        {
            metrics.Add(batch.Span);
            onCodes?.Invoke(metrics.LastCodes);
        }
        return metrics.Result();
    }

    /// <summary>
    /// The names of this SAE's parameters: <c>W_enc</c> [F, d], <c>b_enc</c> [F], <c>W_dec</c> [F, d], <c>b_dec</c> [d], then
    /// the architecture's latent parameters [F] (e.g. <c>threshold</c>).
    /// </summary>
    public IReadOnlyList<string> ParameterNames => [.. Parameters.Select(p => p.Name)];

    /// <summary>A copy of parameter <paramref name="name"/> (row-major; see <see cref="ParameterNames"/> for shapes).</summary>
    public float[] GetParameter(string name) => Backend.ToHost(Parameter(name));

    /// <summary>Overwrites parameter <paramref name="name"/> with <paramref name="values"/>, which must have its length.</summary>
    public void SetParameter(string name, ReadOnlySpan<float> values)
    {
        var t = Parameter(name);
        if (values.Length != t.Length)
            throw new ArgumentException($"{name} has {t.Length} values; got {values.Length}.", nameof(values));
        Backend.Upload(values, t);
    }

    /// <summary>The backend holding the weights.</summary>
    public Backend Backend { get; }

    /// <summary>Shape (d, F, k).</summary>
    public SaeConfig Config { get; }

    /// <summary>Encoder weights W_enc [F, d], one row per latent.</summary>
    internal Tensor<float> WEnc { get; }

    /// <summary>Encoder bias b_enc [F].</summary>
    internal Tensor<float> BEnc { get; }

    /// <summary>Decoder weights W_dec [F, d], one unit-norm row per latent.</summary>
    internal Tensor<float> WDec { get; }

    /// <summary>Decoder bias b_dec [d] (also subtracted from x before encoding).</summary>
    internal Tensor<float> BDec { get; }

    /// <summary>The names of the four weights every SAE has, in <see cref="Parameters"/> order.</summary>
    internal static IReadOnlyList<string> WeightNames { get; } = ["W_enc", "b_enc", "W_dec", "b_dec"];

    /// <summary>
    /// Every parameter tensor with its name: W_enc [F, d], b_enc [F], W_dec [F, d], b_dec [d], then the architecture's latent
    /// parameters [F] (e.g. JumpReLU's <c>threshold</c>), in that order.
    /// </summary>
    internal IReadOnlyList<(string Name, Tensor<float> Tensor)> Parameters =>
        [("W_enc", WEnc), ("b_enc", BEnc), ("W_dec", WDec), ("b_dec", BDec), .. latentParameters];

    /// <summary>The parameter called <paramref name="name"/> (see <see cref="Parameters"/>); throws naming the valid ones.</summary>
    internal Tensor<float> Parameter(string name) =>
        Parameters.FirstOrDefault(p => p.Name == name).Tensor
        ?? throw new ArgumentException($"The {Config.Architecture} SAE has no parameter '{name}'; it has {string.Join(", ", Parameters.Select(p => p.Name))}.", nameof(name));

    /// <summary>
    /// New SAE with W_dec rows drawn uniformly on the unit sphere (seeded), W_enc = s·W_dec (s = the architecture's
    /// <see cref="Architectures.Architecture.EncoderInitScale"/>), b_enc = 0, b_dec = 0, latent parameters 0
    /// (the trainer sets b_dec to the first batch's mean). The rows come from a stream salted with <see cref="InitSalt"/>:
    /// SaeGpu's synthetic sources draw their true feature directions from <c>new Random(seed)</c> with the same row
    /// generator, so an unsalted initialization with the data's seed would start with the true features as decoder rows.
    /// </summary>
    internal static SparseAutoencoder CreateRandom(Backend backend, SaeConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(config);
        var sae = new SparseAutoencoder(backend, config);
        var w = RandomUnitRows(config.Latents, config.InputDim, new Random(unchecked(seed * 1_000_003 + InitSalt)));
        backend.Upload<float>(w, sae.WDec);
        float scale = config.Strategy.EncoderInitScale;
        backend.Upload<float>(scale == 1 ? w : [.. w.Select(v => v * scale)], sae.WEnc);
        return sae;
    }

    /// <summary>
    /// SAE from host weights (shapes as on the properties) and the architecture's latent parameters by name (each [F]; missing
    /// ones start at 0); throws naming the first array of the wrong length or an unknown name.
    /// </summary>
    internal static SparseAutoencoder FromWeights(Backend backend, SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
        IReadOnlyDictionary<string, float[]>? latent = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        long fd = (long)config.Latents * config.InputDim;
        Check(nameof(wEnc), wEnc, fd);
        Check(nameof(bEnc), bEnc, config.Latents);
        Check(nameof(wDec), wDec, fd);
        Check(nameof(bDec), bDec, config.InputDim);
        var names = config.Strategy.LatentParameters;
        foreach (var (name, values) in latent ?? new Dictionary<string, float[]>())
        {
            if (!names.Contains(name))
                throw new ArgumentException($"The {config.Architecture} SAE has no latent parameter '{name}' (it has: {(names.Count == 0 ? "none" : string.Join(", ", names))}).", nameof(latent));
            Check(name, values, config.Latents);
        }
        var sae = new SparseAutoencoder(backend, config);
        foreach (var (name, t) in sae.latentParameters)
            if (latent?.GetValueOrDefault(name) is { } values) backend.Upload<float>(values, t);
        backend.Upload<float>(wEnc, sae.WEnc);
        backend.Upload<float>(bEnc, sae.BEnc);
        backend.Upload<float>(wDec, sae.WDec);
        backend.Upload<float>(bDec, sae.BDec);
        return sae;
    }

    /// <summary>Copies the latent parameters to the host, by name.</summary>
    internal Dictionary<string, float[]> LatentToHost() => latentParameters.ToDictionary(p => p.Name, p => Backend.ToHost(p.Tensor));

    /// <summary>Copies the four weight arrays to the host.</summary>
    internal (float[] WEnc, float[] BEnc, float[] WDec, float[] BDec) ToHost() =>
        (Backend.ToHost(WEnc), Backend.ToHost(BEnc), Backend.ToHost(WDec), Backend.ToHost(BDec));

    /// <summary>
    /// Encodes host rows x [B, d] (B = x.Length / d) to new device codes with the architecture's inference rule (its
    /// <see cref="Architectures.Selector"/>); the caller disposes the codes.
    /// </summary>
    internal SparseCodes EncodeCodes(ReadOnlySpan<float> x)
    {
        int b = RowsOf(x, nameof(x));
        using var xt = Backend.FromHost(x);
        using var selector = Config.Strategy.CreateSelector(this, b);
        var codes = new SparseCodes(Backend, b, selector.Capacity);
        using var pre = selector.Fused ? null : Backend.Allocate<float>((long)b * Config.Latents);
        selector.Encode(xt, pre, codes);
        return codes;
    }

    /// <summary>Decodes device codes to x̂ [B, d] on the host: <c>x̂ = codes·W_dec + b_dec</c>.</summary>
    internal float[] Decode(SparseCodes codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        using var xhat = Backend.Allocate<float>((long)codes.Rows * Config.InputDim);
        Backend.SparseDecode(codes, WDec, BDec, xhat);
        return Backend.ToHost(xhat);
    }

    /// <summary>
    /// Turns an SAE trained on scaled inputs s·x into one for raw x with the same codes: W_enc ← s·W_enc, W_dec ← W_dec/s,
    /// b_dec ← b_dec/s (pre = (s·x − b_dec)·W_encᵀ + b_enc is unchanged, and x̂ comes out divided by s). Thresholds are
    /// unchanged. Decoder rows are then of norm 1/s.
    /// </summary>
    internal void FoldInputScale(float scale)
    {
        if (!(scale > 0 && float.IsFinite(scale))) throw new ArgumentOutOfRangeException(nameof(scale), $"Input scale must be positive and finite, got {scale}.");
        if (scale == 1f) return;
        void Apply(Tensor<float> t, float factor) => Backend.Upload<float>([.. Backend.ToHost(t).Select(v => v * factor)], t);
        Apply(WEnc, scale);
        Apply(WDec, 1 / scale);
        Apply(BDec, 1 / scale);
    }

    /// <summary>Frees the weights and the encode/decode buffers.</summary>
    public void Dispose()
    {
        session?.Dispose();
        decodeCodes?.Dispose();
        decodeOutput?.Dispose();
        foreach (var (_, t) in Parameters) t.Dispose();
    }

    /// <summary>Salt of the initialization stream of <see cref="CreateRandom"/> (seed·1,000,003 + salt).</summary>
    internal const int InitSalt = 0x5AE1;

    private int RowsOf(ReadOnlySpan<float> x, string name)
    {
        int d = Config.InputDim;
        if (x.Length == 0 || x.Length % d != 0)
            throw new ArgumentException($"{name} has {x.Length} values, which is not a positive multiple of d = {d}.", name);
        return x.Length / d;
    }

    // The encode buffers for batches of `rows` rows (kept while batches keep that size).
    private EncodeSession Session(int rows)
    {
        if (session?.Rows == rows) return session;
        session?.Dispose();
        session = null;
        return session = new EncodeSession(this, rows);
    }

    // Device codes with room for `count` entries in `rows` rows, and x̂ [rows, d] (regrown only when too small).
    private (SparseCodes Codes, Tensor<float> Output) DecodeBuffers(int rows, int count)
    {
        if (decodeCodes is null || decodeCodes.Rows != rows || decodeCodes.Capacity < count)
        {
            decodeCodes?.Dispose();
            decodeCodes = null;
            decodeCodes = new SparseCodes(Backend, rows, Math.Max(1, count));
        }
        long bd = (long)rows * Config.InputDim;
        if (decodeOutput?.Length != bd)
        {
            decodeOutput?.Dispose();
            decodeOutput = null;
            decodeOutput = Backend.Allocate<float>(bd);
        }
        return (decodeCodes, decodeOutput);
    }

    // x [B, d], pre [B, F] when the selection is not fused, the selector and the codes of one batch size.
    private sealed class EncodeSession : IDisposable
    {
        public EncodeSession(SparseAutoencoder sae, int rows)
        {
            Rows = rows;
            Selector = sae.Config.Strategy.CreateSelector(sae, rows);
            X = sae.Backend.Allocate<float>((long)rows * sae.Config.InputDim);
            if (!Selector.Fused) Pre = sae.Backend.Allocate<float>((long)rows * sae.Config.Latents);
            Codes = new SparseCodes(sae.Backend, rows, Selector.Capacity);
        }

        public int Rows { get; }
        public Architectures.Selector Selector { get; }
        public Tensor<float> X { get; }
        public Tensor<float>? Pre { get; }
        public SparseCodes Codes { get; }

        public void Dispose()
        {
            Selector.Dispose();
            X.Dispose();
            Pre?.Dispose();
            Codes.Dispose();
        }
    }

    /// <summary>[rows, d] Gaussian rows scaled to unit norm.</summary>
    internal static float[] RandomUnitRows(int rows, int d, Random rng)
    {
        var w = new float[(long)rows * d];
        for (int j = 0; j < rows; j++)
        {
            double nn = 0;
            for (int i = 0; i < d; i++) { double g = Gaussian(rng); w[j * d + i] = (float)g; nn += g * g; }
            float inv = (float)(1 / Math.Sqrt(nn));
            for (int i = 0; i < d; i++) w[j * d + i] *= inv;
        }
        return w;
    }

    /// <summary>Standard normal sample (Box–Muller).</summary>
    internal static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static void Check(string name, float[] a, long expected)
    {
        ArgumentNullException.ThrowIfNull(a, name);
        if (a.Length != expected) throw new ArgumentException($"{name} has {a.Length} values; expected {expected}.", name);
    }
}
