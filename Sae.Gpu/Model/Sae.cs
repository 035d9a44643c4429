using SaeGpu.Compute;

namespace SaeGpu.Model;

/// <summary>
/// A sparse autoencoder's weights on one backend: W_enc [F, d], b_enc [F], W_dec [F, d] (unit-norm rows), b_dec [d],
/// and per-latent thresholds [F] for the threshold-based architectures. Encode: <c>pre = (x − b_dec)·W_encᵀ + b_enc</c>,
/// then the architecture's <see cref="Sparsifier"/> (e.g. <c>a = TopK_k(ReLU(pre))</c>) as CSR <see cref="SparseCodes"/>;
/// decode: <c>x̂ = a·W_dec + b_dec</c>. Owns device memory: dispose it.
/// </summary>
public sealed class Sae : IDisposable
{
    private Sae(Backend backend, SaeConfig config)
    {
        Backend = backend;
        Config = config.Validate();
        int d = config.InputDim, f = config.Latents;
        WEnc = backend.Allocate<float>((long)f * d);
        BEnc = backend.Allocate<float>(f);
        WDec = backend.Allocate<float>((long)f * d);
        BDec = backend.Allocate<float>(d);
        Thresholds = backend.Allocate<float>(f);
    }

    /// <summary>The backend holding the weights.</summary>
    public Backend Backend { get; }

    /// <summary>Shape (d, F, k).</summary>
    public SaeConfig Config { get; }

    /// <summary>Encoder weights W_enc [F, d], one row per latent.</summary>
    public Tensor<float> WEnc { get; }

    /// <summary>Encoder bias b_enc [F].</summary>
    public Tensor<float> BEnc { get; }

    /// <summary>Decoder weights W_dec [F, d], one unit-norm row per latent.</summary>
    public Tensor<float> WDec { get; }

    /// <summary>Decoder bias b_dec [d] (also subtracted from x before encoding).</summary>
    public Tensor<float> BDec { get; }

    /// <summary>
    /// Per-latent thresholds [F]: JumpReLU's trained θ; the inference thresholds estimated during training for
    /// BatchTopK / Mutual Choice (one global value, broadcast) and Feature Choice (one per latent); unused otherwise.
    /// </summary>
    public Tensor<float> Thresholds { get; }

    /// <summary>
    /// New SAE with W_dec rows drawn uniformly on the unit sphere (seeded), W_enc = s·W_dec (s = <see cref="EncoderInitScale"/>), b_enc = 0, b_dec = 0
    /// (the trainer sets b_dec to the first batch's mean). The rows come from a stream salted with <see cref="InitSalt"/>:
    /// SaeGpu's synthetic sources draw their true feature directions from <c>new Random(seed)</c> with the same row
    /// generator, so an unsalted initialization with the data's seed would start with the true features as decoder rows.
    /// </summary>
    public static Sae CreateRandom(Backend backend, SaeConfig config, int seed)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(config);
        var sae = new Sae(backend, config);
        var w = RandomUnitRows(config.Latents, config.InputDim, new Random(unchecked(seed * 1_000_003 + InitSalt)));
        backend.Upload<float>(w, sae.WDec);
        float scale = EncoderInitScale(config.Architecture);
        backend.Upload<float>(scale == 1 ? w : [.. w.Select(v => v * scale)], sae.WEnc);
        return sae;
    }

    /// <summary>SAE from host weights (shapes as on the properties); throws naming the first array of the wrong length.</summary>
    public static Sae FromWeights(Backend backend, SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
        float[]? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        long fd = (long)config.Latents * config.InputDim;
        Check(nameof(wEnc), wEnc, fd);
        Check(nameof(bEnc), bEnc, config.Latents);
        Check(nameof(wDec), wDec, fd);
        Check(nameof(bDec), bDec, config.InputDim);
        if (thresholds is not null) Check(nameof(thresholds), thresholds, config.Latents);
        var sae = new Sae(backend, config);
        if (thresholds is not null) backend.Upload<float>(thresholds, sae.Thresholds);
        backend.Upload<float>(wEnc, sae.WEnc);
        backend.Upload<float>(bEnc, sae.BEnc);
        backend.Upload<float>(wDec, sae.WDec);
        backend.Upload<float>(bDec, sae.BDec);
        return sae;
    }

    /// <summary>Copies the four weight arrays to the host.</summary>
    public (float[] WEnc, float[] BEnc, float[] WDec, float[] BDec) ToHost() =>
        (Backend.ToHost(WEnc), Backend.ToHost(BEnc), Backend.ToHost(WDec), Backend.ToHost(BDec));

    /// <summary>
    /// Encodes host rows x [B, d] (B = x.Length / d) to sparse codes on this SAE's backend with the architecture's
    /// inference rule (see <see cref="Sparsifier.SelectForInference"/>; per-token TopK rules fused with the encode, without
    /// a [B, F] matrix); the caller disposes the codes.
    /// </summary>
    public SparseCodes Encode(ReadOnlySpan<float> x)
    {
        int d = Config.InputDim;
        if (x.Length == 0 || x.Length % d != 0)
            throw new ArgumentException($"Input has {x.Length} values, which is not a positive multiple of d = {d}.", nameof(x));
        int b = x.Length / d;
        using var xt = Backend.FromHost(x);
        using var sparsifier = new Sparsifier(this, b);
        var codes = new SparseCodes(Backend, b, sparsifier.InferenceCapacity);
        if (sparsifier.FusesInference)
        {
            sparsifier.EncodeAndSelect(xt, codes);
            return codes;
        }
        using var pre = Backend.Allocate<float>((long)b * Config.Latents);
        Backend.Encode(xt, BDec, WEnc, BEnc, pre);
        sparsifier.SelectForInference(pre, xt, codes);
        return codes;
    }

    /// <summary>Decodes codes to x̂ [B, d] on the host: <c>x̂ = codes·W_dec + b_dec</c>.</summary>
    public float[] Decode(SparseCodes codes)
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
    public void FoldInputScale(float scale)
    {
        if (!(scale > 0 && float.IsFinite(scale))) throw new ArgumentOutOfRangeException(nameof(scale), $"Input scale must be positive and finite, got {scale}.");
        if (scale == 1f) return;
        void Apply(Tensor<float> t, float factor) => Backend.Upload<float>([.. Backend.ToHost(t).Select(v => v * factor)], t);
        Apply(WEnc, scale);
        Apply(WDec, 1 / scale);
        Apply(BDec, 1 / scale);
    }

    /// <summary>Frees the four weight tensors.</summary>
    public void Dispose()
    {
        WEnc.Dispose();
        BEnc.Dispose();
        WDec.Dispose();
        BDec.Dispose();
        Thresholds.Dispose();
    }

    /// <summary>
    /// Norm of the initial encoder rows: 1 (W_enc = W_dec) for per-token and batch-budget selections; 0.1 for the
    /// penalty-driven ReLU and JumpReLU, where every positive pre-activation fires at first (ours, after Anthropic's
    /// small-norm initialization): full-norm rows make the first reconstructions overshoot by orders of magnitude.
    /// </summary>
    public static float EncoderInitScale(Architecture arch) => arch is Architecture.Relu or Architecture.JumpRelu ? 0.1f : 1f;

    /// <summary>Salt of the initialization stream of <see cref="CreateRandom"/> (seed·1,000,003 + salt).</summary>
    public const int InitSalt = 0x5AE1;

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
