using SaeGpu.Compute;

namespace SaeGpu.Model;

/// <summary>
/// A sparse autoencoder's weights on one backend: W_enc [F, d], b_enc [F], W_dec [F, d] (unit-norm rows), b_dec [d],
/// and the architecture's per-latent parameters [F] (e.g. JumpReLU's thresholds). Encode: <c>pre = (x − b_dec)·W_encᵀ + b_enc</c>,
/// then the architecture's selection (e.g. <c>a = TopK_k(ReLU(pre))</c>) as CSR <see cref="SparseCodes"/>;
/// decode: <c>x̂ = a·W_dec + b_dec</c>. Owns device memory: dispose it.
/// </summary>
public sealed class Sae : IDisposable
{
    private readonly (string Name, Tensor<float> Tensor)[] latentParameters;

    private Sae(Backend backend, SaeConfig config)
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

    /// <summary>The names of the four weights every SAE has, in <see cref="Parameters"/> order.</summary>
    public static IReadOnlyList<string> WeightNames { get; } = ["W_enc", "b_enc", "W_dec", "b_dec"];

    /// <summary>
    /// Every parameter tensor with its name: W_enc [F, d], b_enc [F], W_dec [F, d], b_dec [d], then the architecture's latent
    /// parameters [F] (e.g. JumpReLU's <c>threshold</c>), in that order.
    /// </summary>
    public IReadOnlyList<(string Name, Tensor<float> Tensor)> Parameters =>
        [("W_enc", WEnc), ("b_enc", BEnc), ("W_dec", WDec), ("b_dec", BDec), .. latentParameters];

    /// <summary>The parameter called <paramref name="name"/> (see <see cref="Parameters"/>); throws naming the valid ones.</summary>
    public Tensor<float> Parameter(string name) =>
        Parameters.FirstOrDefault(p => p.Name == name).Tensor
        ?? throw new ArgumentException($"The {Config.Architecture} SAE has no parameter '{name}'; it has {string.Join(", ", Parameters.Select(p => p.Name))}.", nameof(name));

    /// <summary>
    /// New SAE with W_dec rows drawn uniformly on the unit sphere (seeded), W_enc = s·W_dec (s = the architecture's
    /// <see cref="Architectures.Architecture.EncoderInitScale"/>), b_enc = 0, b_dec = 0, latent parameters 0
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
        float scale = config.Strategy.EncoderInitScale;
        backend.Upload<float>(scale == 1 ? w : [.. w.Select(v => v * scale)], sae.WEnc);
        return sae;
    }

    /// <summary>
    /// SAE from host weights (shapes as on the properties) and the architecture's latent parameters by name (each [F]; missing
    /// ones start at 0); throws naming the first array of the wrong length or an unknown name.
    /// </summary>
    public static Sae FromWeights(Backend backend, SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec,
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
        var sae = new Sae(backend, config);
        foreach (var (name, t) in sae.latentParameters)
            if (latent?.GetValueOrDefault(name) is { } values) backend.Upload<float>(values, t);
        backend.Upload<float>(wEnc, sae.WEnc);
        backend.Upload<float>(bEnc, sae.BEnc);
        backend.Upload<float>(wDec, sae.WDec);
        backend.Upload<float>(bDec, sae.BDec);
        return sae;
    }

    /// <summary>Copies the latent parameters to the host, by name.</summary>
    public Dictionary<string, float[]> LatentToHost() => latentParameters.ToDictionary(p => p.Name, p => Backend.ToHost(p.Tensor));

    /// <summary>Copies the four weight arrays to the host.</summary>
    public (float[] WEnc, float[] BEnc, float[] WDec, float[] BDec) ToHost() =>
        (Backend.ToHost(WEnc), Backend.ToHost(BEnc), Backend.ToHost(WDec), Backend.ToHost(BDec));

    /// <summary>
    /// Encodes host rows x [B, d] (B = x.Length / d) to sparse codes on this SAE's backend with the architecture's
    /// inference rule (its <see cref="Architectures.Selector"/>; per-token TopK rules fused with the encode, without a [B, F]
    /// matrix); the caller disposes the codes.
    /// </summary>
    public SparseCodes Encode(ReadOnlySpan<float> x)
    {
        int d = Config.InputDim;
        if (x.Length == 0 || x.Length % d != 0)
            throw new ArgumentException($"Input has {x.Length} values, which is not a positive multiple of d = {d}.", nameof(x));
        int b = x.Length / d;
        using var xt = Backend.FromHost(x);
        using var selector = Config.Strategy.CreateSelector(this, b);
        var codes = new SparseCodes(Backend, b, selector.Capacity);
        using var pre = selector.Fused ? null : Backend.Allocate<float>((long)b * Config.Latents);
        selector.Encode(xt, pre, codes);
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

    /// <summary>Frees the weight tensors.</summary>
    public void Dispose()
    {
        foreach (var (_, t) in Parameters) t.Dispose();
    }

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
