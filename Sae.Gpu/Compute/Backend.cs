using SaeGpu.Kernels;

namespace SaeGpu.Compute;

/// <summary>
/// One place where tensors live and ops run. The trainer and every model are written once against this class;
/// <see cref="ReferenceBackend"/> (scalar float64 oracle), <see cref="CpuBackend"/> (SIMD, multi-threaded) and
/// <see cref="GpuBackend"/> (ILGPU kernels) implement it. Shapes are row-major; B = batch rows, d = input width,
/// F = latents. Each op's formula is documented on its kernel class in <c>SaeGpu.Kernels</c>.
/// </summary>
public abstract class Backend : IDisposable
{
    /// <summary>Short name: reference, cpu, gpu (cuda) or ilgpu-cpu.</summary>
    public abstract string Name { get; }

    /// <summary>Allocates a zero-filled tensor of <paramref name="length"/> elements.</summary>
    public abstract Tensor<T> Allocate<T>(long length) where T : unmanaged;

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> (lengths must match).</summary>
    public abstract void Upload<T>(ReadOnlySpan<T> source, Tensor<T> destination) where T : unmanaged;

    /// <summary>Copies <paramref name="source"/> to host memory (lengths must match); waits for pending work.</summary>
    public abstract void Download<T>(Tensor<T> source, Span<T> destination) where T : unmanaged;

    /// <summary>Copies <paramref name="source"/> into <paramref name="destination"/> on the device (lengths must match).</summary>
    public abstract void Copy<T>(Tensor<T> source, Tensor<T> destination) where T : unmanaged;

    /// <summary>Sets every element to zero.</summary>
    public abstract void Clear<T>(Tensor<T> tensor) where T : unmanaged;

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
        var a = new T[source.Length];
        Download(source, a);
        return a;
    }

    /// <summary><see cref="Kernels.ExclusiveScan"/>: offsets [n+1] = running sums of counts [n], offsets[0] = 0.</summary>
    public abstract void ExclusiveScan(Tensor<int> counts, Tensor<int> offsets);

    /// <summary><see cref="Kernels.Encode"/>: pre [B, F] = (x [B, d] − bDec [d]) · W_encᵀ ([F, d]) + bEnc [F].</summary>
    public abstract void Encode(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<float> pre);

    /// <summary>
    /// <see cref="Kernels.TopK"/>: per row of pre [B, F], the k entries with the largest positive score (pre, or |pre| with
    /// their signs when <paramref name="absolute"/>) into <paramref name="codes"/> (capacity ≥ B·k). With
    /// <paramref name="targetNorms"/> [B] (top-AFA) each row keeps the k* ≤ k whose code norm best matches its target.
    /// </summary>
    public abstract void TopK(Tensor<float> pre, int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes);

    /// <summary>
    /// <see cref="Kernels.EncodeTopK"/>: <see cref="TopK"/> of <see cref="Encode"/>'s pre [B, F] restricted to the latents with
    /// mask [F] ≠ 0 (all when <paramref name="mask"/> is null) into <paramref name="codes"/> (capacity ≥ B·k), for x [B, d],
    /// bDec [d], wEnc [F, d], bEnc [F]. The CPU path never holds pre [B, F]; the GPU path encodes F in chunks and merges each
    /// chunk's TopK with the candidates kept so far (<see cref="GpuBackend.EncodeTopKScratchFloats"/>).
    /// </summary>
    public abstract void EncodeTopK(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<int>? mask,
        int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes);

    /// <summary>
    /// <see cref="Kernels.ThresholdSelect"/>: keep (b, j) of pre [B, F] when pre &gt; 0 and (pre &gt; thresholds[j] or
    /// (pre == thresholds[j] and b ≤ cuts[j])), rows in latent order, into <paramref name="codes"/>.
    /// </summary>
    public abstract void ThresholdSelect(Tensor<float> pre, Tensor<float> thresholds, Tensor<int> cuts, SparseCodes codes);

    /// <summary><see cref="Kernels.BatchTopKThreshold"/>: thresholds/cuts [F] selecting the m largest positive entries of pre [B, F].</summary>
    public abstract void BatchTopKThreshold(Tensor<float> pre, int m, Tensor<float> thresholds, Tensor<int> cuts);

    /// <summary><see cref="Kernels.ColumnTopKThreshold"/>: thresholds/cuts [F] selecting each column's m largest positive entries.</summary>
    public abstract void ColumnTopKThreshold(Tensor<float> pre, int m, Tensor<float> thresholds, Tensor<int> cuts);

    /// <summary>Throws unless <paramref name="codes"/> can hold <paramref name="rows"/> rows of <paramref name="perRow"/> entries.</summary>
    protected static void CheckCapacity(SparseCodes codes, long rows, long perRow)
    {
        if (codes.Rows != rows || codes.Capacity < rows * perRow)
            throw new ArgumentException($"Sparse codes hold {codes.Rows} rows and {codes.Capacity} entries; need {rows} rows and {rows * perRow} entries.");
    }

    /// <summary>
    /// <see cref="Kernels.MatchingPursuit"/>: k greedy steps per row of x [B, d] over unit atoms [n, d] — pick the atom of
    /// largest |⟨r, atom⟩|, add the correlation to its coefficient, subtract its projection — into
    /// <paramref name="codes"/> (capacity ≥ B·k, rows ascending by atom) and residual [B, d] = x − codes·atoms.
    /// </summary>
    public abstract void MatchingPursuit(Tensor<float> x, Tensor<float> atoms, int k, SparseCodes codes, Tensor<float> residual);

    /// <summary><see cref="Kernels.SparseDecode"/>: output [B, d] = bias [d] + codes · W [F, d].</summary>
    public abstract void SparseDecode(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> output);

    /// <summary><see cref="Kernels.ReconstructionError"/>: grad [B, d] = scale·(xhat − x), sse [B] = Σ_i (xhat − x)².</summary>
    public abstract void ReconstructionError(Tensor<float> x, Tensor<float> xhat, float scale, Tensor<float> grad, Tensor<float> sse);

    /// <summary>
    /// <see cref="Kernels.SparseDecodeGrad"/>: xhat [B, d] = bias [d] + codes · W [F, d], grad [B, d] = scale·(xhat − x),
    /// sse [B] = Σ_i (xhat − x)², gValues [capacity] = per entry ⟨grad[row], W[latent]⟩ + shift — <see cref="SparseDecode"/>,
    /// <see cref="ReconstructionError"/> and <see cref="ValueGrad"/> in one op (fused per row on the CPU path).
    /// </summary>
    public abstract void SparseDecodeGrad(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, float scale,
        float shift, Tensor<float> xhat, Tensor<float> grad, Tensor<float> sse, Tensor<float> gValues);

    /// <summary><see cref="Kernels.ValueGrad"/>: gValues [capacity] = per entry, ⟨gOut[row], W[latent]⟩ + shift.</summary>
    public abstract void ValueGrad(SparseCodes codes, Tensor<float> gOut, Tensor<float> w, float shift, Tensor<float> gValues);

    /// <summary>
    /// <see cref="Kernels.PrefixLoss"/>: for nested prefixes ending at ends [n] (ascending, last = F) with loss
    /// L = ½ Σ_b Σ_i coefficients[i]·‖e_{b,i}‖², e_{b,i} = bias + Σ_{j &lt; ends[i]} a_bj W[j] − x_b, writes sse [B·n],
    /// gGroup [B·n, d] (G_{b,g} = Σ_{i ≥ g} c_i e_{b,i}), gOut [B, d] = G_{b,0}, gValues [capacity] = ∂L/∂values and the offsets
    /// of <paramref name="groups"/> (a <see cref="SparseCodes.GroupView"/> of <paramref name="codes"/> with n groups), over
    /// which <see cref="AggregateByLatent"/> with v = gGroup gives ∂L/∂W.
    /// </summary>
    public abstract void PrefixLoss(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, Tensor<int> ends,
        Tensor<float> coefficients, SparseCodes groups, Tensor<float> gGroup, Tensor<float> gOut, Tensor<float> gValues, Tensor<float> sse);

    /// <summary>
    /// Throws unless <paramref name="groups"/> is a group view of <paramref name="codes"/> with n = ends.Length groups and
    /// every tensor of <see cref="PrefixLoss"/> has its documented length (W [F, d] with d = bias.Length).
    /// </summary>
    protected static void CheckPrefixLoss(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, Tensor<int> ends,
        Tensor<float> coefficients, SparseCodes groups, Tensor<float> gGroup, Tensor<float> gOut, Tensor<float> gValues, Tensor<float> sse)
    {
        long n = ends.Length, b = codes.Rows, d = bias.Length;
        if (!ReferenceEquals(groups.Source, codes) || groups.Rows != b * n)
            throw new ArgumentException($"PrefixLoss needs codes.GroupView({n}); got codes of {groups.Rows} rows that are not a group view of these codes.");
        if (n < 1 || coefficients.Length != n || x.Length != b * d || gOut.Length != b * d || gGroup.Length != b * n * d
            || sse.Length != b * n || gValues.Length < codes.Capacity || d < 1 || w.Length % d != 0)
            throw new ArgumentException($"PrefixLoss shapes disagree: B = {b}, d = {d}, n = {n}; x {x.Length}, gOut {gOut.Length}, " +
                $"gGroup {gGroup.Length}, sse {sse.Length}, coefficients {coefficients.Length}, gValues {gValues.Length}, W {w.Length}.");
    }

    /// <summary>Throws unless x [B, d], residual [B, d] and atoms [n, d] fit <paramref name="codes"/> (B rows, capacity ≥ B·k).</summary>
    protected static void CheckPursuit(Tensor<float> x, Tensor<float> atoms, int k, SparseCodes codes, Tensor<float> residual)
    {
        CheckCapacity(codes, codes.Rows, k);
        long d = x.Length / codes.Rows;
        if (k < 1 || d < 1 || x.Length != codes.Rows * d || residual.Length != x.Length || atoms.Length == 0 || atoms.Length % d != 0)
            throw new ArgumentException($"MatchingPursuit shapes disagree: {codes.Rows} rows, x {x.Length}, residual {residual.Length}, atoms {atoms.Length}, k {k}.");
    }

    /// <summary>Throws unless <paramref name="codes"/> holds B·k entries and the latent mask, when given, has one entry per latent (F = bEnc.Length).</summary>
    protected static void CheckEncodeTopK(Tensor<float> bEnc, Tensor<int>? mask, int k, SparseCodes codes)
    {
        CheckCapacity(codes, codes.Rows, k);
        if (mask is not null && mask.Length != bEnc.Length)
            throw new ArgumentException($"EncodeTopK: the latent mask has {mask.Length} entries; F = {bEnc.Length}.");
    }

    /// <summary>Throws unless pre holds one row of F values per row of <paramref name="codes"/>.</summary>
    protected static void CheckGather(SparseCodes codes, Tensor<float> pre)
    {
        if (pre.Length == 0 || pre.Length % codes.Rows != 0)
            throw new ArgumentException($"GatherCodes: pre has {pre.Length} values, not a whole [B = {codes.Rows}, F] matrix.");
    }

    /// <summary><see cref="Kernels.AfaLossGrad"/>: gValues += coefficient·2/B·(‖a_b‖ − targets[b])·a/‖a_b‖ per row of the codes.</summary>
    public abstract void AfaLossGrad(SparseCodes codes, Tensor<float> targets, float coefficient, Tensor<float> gValues);

    /// <summary><see cref="Kernels.RowNorm"/>: norms [B] = ‖x[b] − center‖ for x [B, d], center [d].</summary>
    public abstract void RowNorm(Tensor<float> x, Tensor<float> center, Tensor<float> norms);

    /// <summary><see cref="Kernels.ColumnMax"/>: max [F] = max(0, max_b pre[b, j]) for pre [B, F].</summary>
    public abstract void ColumnMax(Tensor<float> pre, Tensor<float> max);

    /// <summary>
    /// <see cref="Kernels.AggregateByLatent"/>: gW [F, d] = Σ over a latent's entries of g·(v[row] − center),
    /// gSum [F] = Σ g, counts [F] = entries per latent; with <paramref name="accumulate"/> gW and gSum are added to.
    /// </summary>
    public abstract void AggregateByLatent(SparseCodes codes, Tensor<float> g, Tensor<float> v, Tensor<float> center,
        bool accumulate, Tensor<float> gW, Tensor<float> gSum, Tensor<int> counts);

    /// <summary><see cref="Kernels.GradientScore"/>: score [B, F] = max(pre, 0)·(1 + β·|proj|) (g-SAE's selection score).</summary>
    public abstract void GradientScore(Tensor<float> pre, Tensor<float> proj, float beta, Tensor<float> score);

    /// <summary><see cref="Kernels.GatherCodes"/>: each stored entry's value ← pre [B, F] at its (row, latent).</summary>
    public abstract void GatherCodes(SparseCodes codes, Tensor<float> pre);

    /// <summary><see cref="Kernels.Axpy"/>: y [n] += α·x [n].</summary>
    public abstract void Axpy(float alpha, Tensor<float> x, Tensor<float> y);

    /// <summary><see cref="Kernels.MaskLatents"/>: output [B, F] = pre where mask[j] ≠ 0, else 0.</summary>
    public abstract void MaskLatents(Tensor<float> pre, Tensor<int> mask, Tensor<float> output);

    /// <summary><see cref="Kernels.JumpReluThresholdGrad"/>: gθ [F] by the straight-through estimator with bandwidth ε.</summary>
    public abstract void JumpReluThresholdGrad(Tensor<float> pre, Tensor<float> theta, Tensor<float> gOut, Tensor<float> wDec,
        float eps, float l0Weight, Tensor<float> gTheta);

    /// <summary><see cref="Kernels.DecoderBiasGrad"/>: gbDec [d] = Σ_b gOut [B, d] − gbEncᵀ [F] · W_enc [F, d].</summary>
    public abstract void DecoderBiasGrad(Tensor<float> gOut, Tensor<float> gbEnc, Tensor<float> wEnc, Tensor<float> gbDec);

    /// <summary><see cref="Kernels.Adam"/>: one in-place Adam step on param, m, v (all [n]) from grad [n].</summary>
    public abstract void Adam(Tensor<float> grad, Adam.Step step, Tensor<float> param, Tensor<float> m, Tensor<float> v);

    /// <summary>
    /// <see cref="Kernels.RemoveParallelGrad"/>: g[j] −= (⟨g[j], w[j]⟩/‖w[j]‖²)·w[j] for rows of w, g [F, d]; with
    /// <paramref name="parallelOnly"/> g[j] keeps only that parallel component.
    /// </summary>
    public abstract void RemoveParallelGrad(Tensor<float> w, int d, bool parallelOnly, Tensor<float> g);

    /// <summary><see cref="Kernels.NormalizeRows"/>: w[j] ← w[j]/‖w[j]‖ for rows of w [F, d].</summary>
    public abstract void NormalizeRows(int d, Tensor<float> w);

    /// <summary>Frees backend resources (device context, cached scratch).</summary>
    public virtual void Dispose() => GC.SuppressFinalize(this);

    /// <summary>Throws unless <paramref name="tensor"/> was allocated by this backend.</summary>
    protected void CheckOwner<T>(Tensor<T> tensor) where T : unmanaged
    {
        if (!ReferenceEquals(tensor.Owner, this))
            throw new ArgumentException($"Tensor of length {tensor.Length} belongs to backend '{tensor.Owner.Name}', not '{Name}'.");
    }
}
