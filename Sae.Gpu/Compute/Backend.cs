using SaeGpu.Compute;
using SaeGpu.Kernels;

namespace SaeGpu;

/// <summary>
/// SaeGpu's kernel library: one place where tensors live and ops run, and the one entry point for calling an op without an
/// SAE. <see cref="Create"/> gives the scalar float64 oracle (<c>reference</c>), the SIMD multi-threaded CPU path
/// (<c>cpu</c>) or the ILGPU kernels (<c>gpu</c>: CUDA when a device is present; <c>ilgpu-cpu</c>: ILGPU's CPU
/// accelerator). Every op validates the lengths of its arguments before it touches memory and throws
/// <see cref="ArgumentException"/> naming the argument. Ops take tensors of this backend (<see cref="Allocate{T}"/>,
/// <see cref="FromHost{T}"/>) and, for the main ones, host spans too (staged through device memory on a GPU). Shapes are
/// row-major: B = batch rows, d = input width, F = latents. Sparse codes are CSR (<see cref="SparseCodes"/> on the backend,
/// <see cref="SparseBatch"/> on the host) with each row's entries in ascending latent order; selections break ties toward
/// the lower latent index. Owns device resources: dispose backends you create (not <see cref="Default"/>).
/// </summary>
public abstract partial class Backend : IDisposable
{
    private static readonly Lazy<Backend> DefaultBackend = new(() => Create());

    private protected Backend() { }

    /// <summary>Environment variable consulted when no backend name is given.</summary>
    public const string EnvironmentVariable = "SAEGPU_BACKEND";

    /// <summary>The backend names <see cref="Create"/> accepts: reference, cpu, gpu, ilgpu-cpu.</summary>
    public static IReadOnlyList<string> Names { get; } = ["reference", "cpu", "gpu", "ilgpu-cpu"];

    /// <summary>
    /// The process-wide backend used when none is given: created on first use from <c>SAEGPU_BACKEND</c> (else <c>cpu</c>) and
    /// kept for the life of the process (never dispose it).
    /// </summary>
    public static Backend Default => DefaultBackend.Value;

    /// <summary>
    /// Creates the backend called <paramref name="name"/>: <c>reference</c> (the scalar float64 oracle), <c>cpu</c> (SIMD,
    /// multi-threaded), <c>gpu</c> (ILGPU kernels on CUDA when a device is present, else ILGPU's CPU accelerator) or
    /// <c>ilgpu-cpu</c>; when it is null or empty, <c>SAEGPU_BACKEND</c>, else <c>cpu</c>. Throws
    /// <see cref="ArgumentException"/> for an unknown name. The caller disposes it.
    /// </summary>
    public static Backend Create(string? name = null)
    {
        string chosen = string.IsNullOrWhiteSpace(name) ? Environment.GetEnvironmentVariable(EnvironmentVariable) ?? "cpu" : name;
        return chosen.Trim().ToLowerInvariant() switch
        {
            "reference" => new ReferenceBackend(),
            "cpu" => new CpuBackend(),
            "gpu" => new GpuBackend(),
            "ilgpu-cpu" => new GpuBackend(forceCpuAccelerator: true),
            _ => throw new ArgumentException(
                $"Unknown backend '{chosen}' (from {(string.IsNullOrWhiteSpace(name) ? EnvironmentVariable : "the argument")}); expected one of: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>Environment variable that turns the int8 screen off ("0") or on where supported ("1") for the backends created in the process.</summary>
    public const string Int8ScreenVariable = "SAEGPU_INT8_SCREEN";

    /// <summary>
    /// Whether TopK-style selections on this backend (<c>EncodeTopK</c>: TopK, AbsTopK, top-AFA, AuxK, and the encoders of
    /// vSAE and g-SAE inference) go through the exact int8 screen: the centered inputs and W_enc rows are quantized to int8
    /// with one scale per row, int8 dots bound every pre-activation rigorously, and only latents whose upper bound reaches
    /// the row's running k-th largest lower bound are computed in fp32, by the same arithmetic — so the codes are
    /// bit-identical with the screen on or off; only the time differs. Supported by <c>cpu</c> where the CPU has AVX-VNNI or
    /// AVX-512BW (<see cref="Int8ScreenSupported"/>); on by default only with AVX-VNNI (with AVX-512BW alone it measured no
    /// faster than fp32); <see cref="Int8ScreenVariable"/> "1" or "0" overrides the default. Setting it to true where it is
    /// not supported throws <see cref="NotSupportedException"/>.
    /// </summary>
    public bool UseInt8Screen
    {
        get => useInt8Screen;
        set
        {
            if (value && !Int8ScreenSupported)
                throw new NotSupportedException($"The {Name} backend has no int8 screen here (it needs the cpu backend on a CPU with AVX-VNNI or AVX-512BW).");
            useInt8Screen = value;
        }
    }

    private bool useInt8Screen;

    /// <summary>Whether <see cref="UseInt8Screen"/> can be turned on for this backend on this machine.</summary>
    public virtual bool Int8ScreenSupported => false;

    /// <summary>Short name: reference, cpu, gpu (CUDA) or ilgpu-cpu.</summary>
    public abstract string Name { get; }

    /// <summary>The device's name (the CPU for host backends, the GPU as ILGPU reports it).</summary>
    public virtual string DeviceName => Environment.ProcessorCount + " CPU cores";

    /// <summary>Bytes of memory of the device the tensors live on, when it is not host memory (a CUDA GPU); null otherwise.</summary>
    internal virtual long? DeviceMemoryBytes => null;

    // ---- memory ------------------------------------------------------------------------------------------------------

    /// <summary>Allocates a zero-filled tensor of <paramref name="length"/> ≥ 0 elements (int or float).</summary>
    public Tensor<T> Allocate<T>(long length) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return AllocateCore<T>(length);
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> (lengths must match).</summary>
    public void Upload<T>(ReadOnlySpan<T> source, Tensor<T> destination) where T : unmanaged
    {
        Own(destination, nameof(destination));
        Shapes.Length(source.Length, destination.Length, nameof(source), "the destination's length");
        if (source.Length > 0) UploadCore(source, destination, 0);
    }

    /// <summary>
    /// Copies <paramref name="source"/> into elements <paramref name="offset"/> … offset + source.Length − 1 of
    /// <paramref name="destination"/>, leaving the rest unchanged; throws when that range does not lie inside it.
    /// </summary>
    public void Upload<T>(ReadOnlySpan<T> source, Tensor<T> destination, long offset) where T : unmanaged
    {
        Own(destination, nameof(destination));
        if (offset < 0 || offset + source.Length > destination.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{source.Length} values at offset {offset} do not fit a tensor of {destination.Length}.");
        if (source.Length > 0) UploadCore(source, destination, offset);
    }

    /// <summary>Copies <paramref name="source"/> to host memory (lengths must match); waits for pending work.</summary>
    public void Download<T>(Tensor<T> source, Span<T> destination) where T : unmanaged
    {
        Own(source, nameof(source));
        Shapes.Length(destination.Length, source.Length, nameof(destination), "the source's length");
        DownloadCore(source, destination);
    }

    /// <summary>
    /// Copies elements <paramref name="offset"/> … offset + destination.Length − 1 of <paramref name="source"/> to host memory;
    /// throws when that range does not lie inside it. Waits for pending work.
    /// </summary>
    public void Download<T>(Tensor<T> source, Span<T> destination, long offset) where T : unmanaged
    {
        Own(source, nameof(source));
        if (offset < 0 || offset + destination.Length > source.Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"{destination.Length} values at offset {offset} do not fit a tensor of {source.Length}.");
        if (destination.Length > 0) DownloadCore(source, destination, offset);
    }

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> on the device (lengths must match).</summary>
    public void Copy<T>(Tensor<T> source, Tensor<T> destination) where T : unmanaged
    {
        Own(source, nameof(source));
        Own(destination, nameof(destination));
        Shapes.Length(destination.Length, source.Length, nameof(destination), "the source's length");
        CopyCore(source, destination);
    }

    /// <summary>Sets every element to zero.</summary>
    public void Clear<T>(Tensor<T> tensor) where T : unmanaged
    {
        Own(tensor, nameof(tensor));
        ClearCore(tensor);
    }

    /// <summary>Waits until all queued work is done (no-op on host backends).</summary>
    public virtual void Synchronize() { }

    /// <summary>Allocates a tensor holding a copy of <paramref name="source"/>.</summary>
    public Tensor<T> FromHost<T>(ReadOnlySpan<T> source) where T : unmanaged
    {
        var t = Allocate<T>(source.Length);
        Upload(source, t);
        return t;
    }

    /// <summary>Copies a tensor to a new host array.</summary>
    public T[] ToHost<T>(Tensor<T> source) where T : unmanaged
    {
        Own(source, nameof(source));
        var a = new T[source.Length];
        Download(source, a);
        return a;
    }

    private protected abstract Tensor<T> AllocateCore<T>(long length) where T : unmanaged;
    private protected abstract void UploadCore<T>(ReadOnlySpan<T> source, Tensor<T> destination, long offset) where T : unmanaged;
    private protected abstract void DownloadCore<T>(Tensor<T> source, Span<T> destination) where T : unmanaged;
    private protected abstract void DownloadCore<T>(Tensor<T> source, Span<T> destination, long offset) where T : unmanaged;
    private protected abstract void CopyCore<T>(Tensor<T> source, Tensor<T> destination) where T : unmanaged;
    private protected abstract void ClearCore<T>(Tensor<T> tensor) where T : unmanaged;

    // ---- the public ops ----------------------------------------------------------------------------------------------

    /// <summary>
    /// Encode (<see cref="Kernels.Encode"/>): <c>pre [B, F] = (x [B, d] − bDec [d])·wEncᵀ + bEnc [F]</c> with wEnc [F, d] —
    /// the dense GEMM of an SAE's encoder. d and F are the lengths of <paramref name="bDec"/> and <paramref name="bEnc"/>.
    /// </summary>
    public void Encode(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<float> pre)
    {
        OwnAll((x, nameof(x)), (bDec, nameof(bDec)), (wEnc, nameof(wEnc)), (bEnc, nameof(bEnc)), (pre, nameof(pre)));
        CheckEncode(x.Length, bDec.Length, wEnc.Length, bEnc.Length, pre.Length);
        EncodeCore(x, bDec, wEnc, bEnc, pre);
    }

    /// <summary>
    /// TopK selection (<see cref="Kernels.TopK"/>): per row of pre [B, F] (B = codes.Rows), the k entries with the largest
    /// positive score — pre, or |pre| with its sign kept when <paramref name="absolute"/> — into <paramref name="codes"/>
    /// (capacity ≥ B·k), rows in ascending latent order. With <paramref name="targetNorms"/> [B] (top-AFA) each row keeps the
    /// k* ≤ k largest whose code norm best matches its target.
    /// </summary>
    public void TopK(Tensor<float> pre, int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes)
    {
        OwnAll((pre, nameof(pre)));
        OwnCodes(codes, nameof(codes));
        if (targetNorms is not null) Own(targetNorms, nameof(targetNorms));
        CheckTopK(pre.Length, codes.Rows, k, codes.Capacity, targetNorms?.Length);
        TopKCore(pre, k, absolute, targetNorms, codes);
        codes.LatentBound = pre.Length / codes.Rows;
    }

    /// <summary>
    /// Fused encode and TopK (<see cref="Kernels.EncodeTopK"/>): the <c>Backend.TopK</c> of <c>Backend.Encode</c>'s pre [B, F]
    /// restricted to the latents with mask [F] ≠ 0 (all when <paramref name="mask"/> is null), for x [B, d], bDec [d],
    /// wEnc [F, d], bEnc [F], into <paramref name="codes"/> (B rows, capacity ≥ B·k). The CPU path never holds pre [B, F];
    /// the GPU path encodes F in chunks and merges each chunk's TopK with the candidates kept so far.
    /// </summary>
    public void EncodeTopK(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<int>? mask,
        int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes)
    {
        OwnAll((x, nameof(x)), (bDec, nameof(bDec)), (wEnc, nameof(wEnc)), (bEnc, nameof(bEnc)));
        OwnCodes(codes, nameof(codes));
        if (mask is not null) Own(mask, nameof(mask));
        if (targetNorms is not null) Own(targetNorms, nameof(targetNorms));
        int b = CheckEncode(x.Length, bDec.Length, wEnc.Length, bEnc.Length, null);
        if (codes.Rows != b) throw new ArgumentException($"codes hold {codes.Rows} rows; x has B = {b}.", nameof(codes));
        CheckTopK((long)b * bEnc.Length, b, k, codes.Capacity, targetNorms?.Length);
        if (mask is not null) Shapes.Length(mask.Length, bEnc.Length, nameof(mask), "[F]");
        EncodeTopKCore(x, bDec, wEnc, bEnc, mask, k, absolute, targetNorms, codes);
        codes.LatentBound = bEnc.Length;
    }

    /// <summary>
    /// Threshold selection (<see cref="Kernels.ThresholdSelect"/>): keep (b, j) of pre [B, F] (B = codes.Rows) when pre &gt; 0
    /// and (pre &gt; thresholds[j], or pre = thresholds[j] and b ≤ cuts[j]), rows in latent order, into
    /// <paramref name="codes"/>; throws <see cref="InvalidOperationException"/> when more entries pass than the codes hold.
    /// </summary>
    public void ThresholdSelect(Tensor<float> pre, Tensor<float> thresholds, Tensor<int> cuts, SparseCodes codes)
    {
        OwnAll((pre, nameof(pre)), (thresholds, nameof(thresholds)));
        Own(cuts, nameof(cuts));
        OwnCodes(codes, nameof(codes));
        int f = CheckThresholdSelect(pre.Length, thresholds.Length, cuts.Length, codes.Rows);
        ThresholdSelectCore(pre, thresholds, cuts, codes);
        codes.LatentBound = f;
    }

    /// <summary>
    /// BatchTopK's threshold (<see cref="Kernels.BatchTopKThreshold"/>): thresholds and tie cuts [F] such that
    /// <c>Backend.ThresholdSelect</c> keeps exactly the m largest positive entries of the whole pre [B, F] (fewer when fewer
    /// are positive); ties at the threshold go to the lower flat index.
    /// </summary>
    public void BatchTopKThreshold(Tensor<float> pre, int m, Tensor<float> thresholds, Tensor<int> cuts)
    {
        OwnAll((pre, nameof(pre)), (thresholds, nameof(thresholds)));
        Own(cuts, nameof(cuts));
        CheckColumnThresholds(pre.Length, m, thresholds.Length, cuts.Length);
        BatchTopKThresholdCore(pre, m, thresholds, cuts);
    }

    /// <summary>
    /// Matching pursuit (<see cref="Kernels.MatchingPursuit"/>): k greedy steps per row of x [B, d] (B = codes.Rows) over unit
    /// atoms [n, d] — pick the atom of largest |⟨r, atom⟩|, add the correlation to its coefficient, subtract its projection —
    /// into <paramref name="codes"/> (capacity ≥ B·k, rows ascending by atom) and residual [B, d] = x − codes·atoms.
    /// </summary>
    public void MatchingPursuit(Tensor<float> x, Tensor<float> atoms, int k, SparseCodes codes, Tensor<float> residual)
    {
        OwnAll((x, nameof(x)), (atoms, nameof(atoms)), (residual, nameof(residual)));
        OwnCodes(codes, nameof(codes));
        CheckPursuit(x.Length, atoms.Length, k, codes.Rows, codes.Capacity, residual.Length);
        MatchingPursuitCore(x, atoms, k, codes, residual);
        codes.LatentBound = atoms.Length / (x.Length / codes.Rows);
    }

    /// <summary>Sparse decode (<see cref="Kernels.SparseDecode"/>): output [B, d] = bias [d] + codes [B, F]·w [F, d].</summary>
    public void SparseDecode(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> output)
    {
        OwnCodes(codes, nameof(codes));
        OwnAll((w, nameof(w)), (bias, nameof(bias)), (output, nameof(output)));
        CheckLatents(codes, CheckDecode(codes.Rows, w.Length, bias.Length, output.Length), nameof(codes));
        SparseDecodeCore(codes, w, bias, output);
    }

    /// <summary>
    /// Fused decode, error and value gradient (<see cref="Kernels.SparseDecodeGrad"/>): xhat [B, d] = bias [d] + codes·w
    /// [F, d]; grad [B, d] = scale·(xhat − x); sse [B] = Σ_i (xhat − x)²; gValues [capacity] = per entry ⟨grad[row],
    /// w[latent]⟩ + shift — the gradient of an SAE's reconstruction loss with respect to its code values.
    /// </summary>
    public void SparseDecodeGrad(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, float scale,
        float shift, Tensor<float> xhat, Tensor<float> grad, Tensor<float> sse, Tensor<float> gValues)
    {
        OwnCodes(codes, nameof(codes));
        OwnAll((w, nameof(w)), (bias, nameof(bias)), (x, nameof(x)), (xhat, nameof(xhat)), (grad, nameof(grad)), (sse, nameof(sse)), (gValues, nameof(gValues)));
        int f = CheckDecodeGrad(codes.Rows, codes.Capacity, exact: false, w.Length, bias.Length, x.Length, xhat.Length, grad.Length,
            sse.Length, gValues.Length);
        CheckLatents(codes, f, nameof(codes));
        SparseDecodeGradCore(codes, w, bias, x, scale, shift, xhat, grad, sse, gValues);
    }

    /// <summary>
    /// Reverse-index aggregation by latent (<see cref="Kernels.AggregateByLatent"/>): for each latent j, gW[j] [F, d'] =
    /// Σ over its entries of g[entry]·(v[row] − center), gSum [F] = Σ g[entry], counts [F] = its entries; with
    /// <paramref name="accumulate"/> gW and gSum are added to. v [B, d'] and center [d'] (d' = center's length); g [capacity].
    /// Both sparse weight gradients of an SAE are this op (v = x for the encoder, v = the output gradient for the decoder).
    /// </summary>
    public void AggregateByLatent(SparseCodes codes, Tensor<float> g, Tensor<float> v, Tensor<float> center,
        bool accumulate, Tensor<float> gW, Tensor<float> gSum, Tensor<int> counts)
    {
        OwnCodes(codes, nameof(codes));
        OwnAll((g, nameof(g)), (v, nameof(v)), (center, nameof(center)), (gW, nameof(gW)), (gSum, nameof(gSum)));
        Own(counts, nameof(counts));
        int f = CheckAggregate(codes.Rows, codes.Capacity, exact: false, g.Length, v.Length, center.Length, gW.Length, gSum.Length, counts.Length);
        CheckLatents(codes, f, nameof(codes));
        AggregateByLatentCore(codes, g, v, center, accumulate, gW, gSum, counts);
    }

    /// <summary>
    /// One in-place Adam step (<see cref="Kernels.Adam"/>) on param, m, v (all [n]) from grad [n]:
    /// <c>m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; param ← param − lr·(m / (1 − β1^t)) / (√(v / (1 − β2^t)) + ε)</c> for
    /// step number t ≥ 1.
    /// </summary>
    public void Adam(Tensor<float> grad, Tensor<float> param, Tensor<float> m, Tensor<float> v, float learningRate, float beta1,
        float beta2, float epsilon, int step)
    {
        Adam(grad, AdamStep(learningRate, beta1, beta2, epsilon, step), param, m, v);
    }

    // The hyper-parameters and bias corrections of step number `step` ≥ 1, validated.
    private static Adam.Step AdamStep(float learningRate, float beta1, float beta2, float epsilon, int step)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        if (!(beta1 >= 0 && beta1 < 1)) throw new ArgumentOutOfRangeException(nameof(beta1), beta1, "β1 must be in [0, 1).");
        if (!(beta2 >= 0 && beta2 < 1)) throw new ArgumentOutOfRangeException(nameof(beta2), beta2, "β2 must be in [0, 1).");
        return new Adam.Step(learningRate, beta1, beta2, epsilon, (float)(1 - Math.Pow(beta1, step)), (float)(1 - Math.Pow(beta2, step)));
    }

    /// <summary>Adam with precomputed hyper-parameters and bias corrections.</summary>
    internal void Adam(Tensor<float> grad, Adam.Step step, Tensor<float> param, Tensor<float> m, Tensor<float> v)
    {
        OwnAll((grad, nameof(grad)), (param, nameof(param)), (m, nameof(m)), (v, nameof(v)));
        CheckAdam(grad.Length, param.Length, m.Length, v.Length);
        AdamCore(grad, step, param, m, v);
    }

    /// <summary>Frees backend resources (device context, cached scratch).</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);

    // ---- shared checks -----------------------------------------------------------------------------------------------

    /// <summary>Throws unless <paramref name="tensor"/> is non-null and was allocated by this backend.</summary>
    private protected void Own<T>(Tensor<T> tensor, string name) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        if (!ReferenceEquals(tensor.Owner, this))
            throw new ArgumentException($"{name} (length {tensor.Length}) belongs to backend '{tensor.Owner.Name}', not '{Name}'.", name);
    }

    private protected void OwnAll(params ReadOnlySpan<(Tensor<float> Tensor, string Name)> tensors)
    {
        foreach (var (t, n) in tensors) Own(t, n);
    }

    /// <summary>
    /// Throws when the codes may hold a latent index ≥ <paramref name="latents"/> (F of the op's weights): codes written by an
    /// op over a larger F, or copied from the host with such an index (<see cref="SparseCodes.LatentBound"/>).
    /// </summary>
    private protected static void CheckLatents(SparseCodes codes, long latents, string name) =>
        CheckLatentBound((codes.Source ?? codes).LatentBound, latents, name);

    private protected static void CheckLatentBound(long bound, long latents, string name)
    {
        if (bound > latents) throw new ArgumentException($"{name} index latents up to {bound - 1}, outside F = {latents}.", name);
    }

    private protected void OwnCodes(SparseCodes codes, string name)
    {
        ArgumentNullException.ThrowIfNull(codes, name);
        Own(codes.Offsets, name);
        Own(codes.Indices, name);
        Own(codes.Values, name);
    }

    /// <summary>Checks Encode's lengths (pre = null: no pre) and returns B.</summary>
    private protected static int CheckEncode(long x, long bDec, long wEnc, long bEnc, long? pre)
    {
        int d = Shapes.Positive(bDec, "bDec", "d");
        int f = Shapes.Positive(bEnc, "bEnc", "F");
        int b = Shapes.Rows(x, d, "x", "[B, d]");
        Shapes.Length(wEnc, (long)f * d, "wEnc", "[F, d]");
        if (pre is { } p) Shapes.Length(p, (long)b * f, "pre", "[B, F]");
        return b;
    }

    /// <summary>Checks ThresholdSelect's lengths (rows: B of the codes, null to take it from pre) and returns F.</summary>
    private protected static int CheckThresholdSelect(long pre, long thresholds, long cuts, int? rows)
    {
        int f = Shapes.Positive(thresholds, "thresholds", "F");
        if (rows is { } b) Shapes.Length(pre, (long)b * f, "pre", "[B, F]");
        else Shapes.Rows(pre, f, "pre", "[B, F]");
        Shapes.Length(cuts, f, "cuts", "[F]");
        return f;
    }

    /// <summary>Checks SparseDecode's lengths for codes of <paramref name="rows"/> rows and returns F (w's rows).</summary>
    private protected static int CheckDecode(int rows, long w, long bias, long output, string outputName = "output")
    {
        int d = Shapes.Positive(bias, "bias", "d");
        Shapes.Length(output, (long)rows * d, outputName, "[B, d]");
        return Shapes.Rows(w, d, "w", "[F, d]");
    }

    /// <summary>
    /// Checks SparseDecodeGrad's lengths for codes of <paramref name="rows"/> rows and <paramref name="entries"/> entries
    /// (gValues: exactly that many for host codes, at least their capacity for device codes) and returns F.
    /// </summary>
    private protected static int CheckDecodeGrad(int rows, long entries, bool exact, long w, long bias, long x, long xhat, long grad,
        long sse, long gValues)
    {
        int f = CheckDecode(rows, w, bias, xhat, "xhat");
        Shapes.Length(x, xhat, "x", "[B, d]");
        Shapes.Length(grad, xhat, "grad", "[B, d]");
        Shapes.Length(sse, rows, "sse", "[B]");
        Shapes.Entries(gValues, entries, exact, "gValues");
        return f;
    }

    /// <summary>Checks AggregateByLatent's lengths (g as gValues in <see cref="CheckDecodeGrad"/>) and returns F.</summary>
    private protected static int CheckAggregate(int rows, long entries, bool exact, long g, long v, long center, long gW, long gSum, long counts)
    {
        int d = Shapes.Positive(center, "center", "d");
        int f = Shapes.Positive(gSum, "gSum", "F");
        Shapes.Entries(g, entries, exact, "g");
        Shapes.Length(v, (long)rows * d, "v", "[B, d]");
        Shapes.Length(gW, (long)f * d, "gW", "[F, d]");
        Shapes.Length(counts, f, "counts", "[F]");
        return f;
    }

    private protected static void CheckAdam(long grad, long param, long m, long v)
    {
        Shapes.Length(grad, param, "grad", "param's length");
        Shapes.Length(m, param, "m", "param's length");
        Shapes.Length(v, param, "v", "param's length");
    }

    private protected static void CheckTopK(long pre, int rows, int k, long capacity, long? targetNorms)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        Shapes.Width(pre, rows, "pre", "[B, F]");
        CodeCapacity(capacity, (long)rows * k);
        if (targetNorms is { } t) Shapes.Length(t, rows, "targetNorms", "[B]");
    }

    private protected static void CheckColumnThresholds(long pre, int m, long thresholds, long cuts)
    {
        int f = Shapes.Positive(thresholds, "thresholds", "F");
        Shapes.Rows(pre, f, "pre", "[B, F]");
        Shapes.Length(cuts, f, "cuts", "[F]");
        ArgumentOutOfRangeException.ThrowIfLessThan(m, 0);
    }

    private protected static void CheckPursuit(long x, long atoms, int k, int rows, long capacity, long residual)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        long d = Shapes.Width(x, rows, "x", "[B, d]");
        Shapes.Rows(atoms, d, "atoms", "[n, d]");
        Shapes.Length(residual, x, "residual", "[B, d]");
        CodeCapacity(capacity, (long)rows * k);
    }

    private static void CodeCapacity(long capacity, long needed)
    {
        if (capacity < needed) throw new ArgumentException($"codes hold {capacity} entries; the op needs B·k = {needed}.", "codes");
    }
}
