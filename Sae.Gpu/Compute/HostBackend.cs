using SaeGpu.Kernels;

namespace SaeGpu.Compute;

/// <summary>The host-side op implementations a <see cref="HostBackend{TOps}"/> dispatches to (one static method per op).</summary>
internal interface IHostOps
{
    /// <summary>Backend name.</summary>
    static abstract string Name { get; }
    /// <summary>See <see cref="Kernels.ExclusiveScan"/>.</summary>
    static abstract void ExclusiveScan(ReadOnlySpan<int> counts, Span<int> offsets);
    /// <summary>See <see cref="Kernels.Encode"/>.</summary>
    static abstract void Encode(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc, Span<float> pre);
    /// <summary>See <see cref="Kernels.TopK"/>.</summary>
    static abstract void TopK(ReadOnlySpan<float> pre, int f, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values);
    /// <summary>See <see cref="Kernels.EncodeTopK"/>; <paramref name="screen"/>: the int8 screen's kernel, or null for none (ignored by the reference).</summary>
    static abstract void EncodeTopK(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc, ReadOnlySpan<int> mask, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values, Int8Kernel? screen);
    /// <summary>See <see cref="Kernels.ThresholdSelect"/>.</summary>
    static abstract void ThresholdSelect(ReadOnlySpan<float> pre, ReadOnlySpan<float> thresholds, ReadOnlySpan<int> cuts, Span<int> offsets, Span<int> indices, Span<float> values);
    /// <summary>See <see cref="Kernels.BatchTopKThreshold"/>.</summary>
    static abstract void BatchTopKThreshold(ReadOnlySpan<float> pre, int m, Span<float> thresholds, Span<int> cuts);
    /// <summary>See <see cref="Kernels.ColumnTopKThreshold"/>.</summary>
    static abstract void ColumnTopKThreshold(ReadOnlySpan<float> pre, ReadOnlySpan<int> budgets, Span<float> thresholds, Span<int> cuts);
    /// <summary>See <see cref="Kernels.MatchingPursuit"/>.</summary>
    static abstract void MatchingPursuit(ReadOnlySpan<float> x, ReadOnlySpan<float> atoms, int k, Span<int> offsets, Span<int> indices, Span<float> values, Span<float> residual);
    /// <summary>See <see cref="Kernels.SparseDecode"/>.</summary>
    static abstract void SparseDecode(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> output);
    /// <summary>See <see cref="Kernels.ReconstructionError"/>.</summary>
    static abstract void ReconstructionError(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, float scale, Span<float> grad, Span<float> sse);
    /// <summary>See <see cref="Kernels.SparseDecodeGrad"/>.</summary>
    static abstract void SparseDecodeGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, float scale, float shift, Span<float> xhat, Span<float> grad, Span<float> sse, Span<float> gValues);
    /// <summary>See <see cref="Kernels.ValueGrad"/>.</summary>
    static abstract void ValueGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> gOut, ReadOnlySpan<float> w, float shift, Span<float> gValues);
    /// <summary>See <see cref="Kernels.PrefixLoss"/>.</summary>
    static abstract void PrefixLoss(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, ReadOnlySpan<int> ends, ReadOnlySpan<float> coefficients, Span<int> groupOffsets, Span<float> gGroup, Span<float> gOut, Span<float> gValues, Span<float> sse);
    /// <summary>See <see cref="Kernels.AfaLossGrad"/>.</summary>
    static abstract void AfaLossGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, ReadOnlySpan<float> targets, float coefficient, Span<float> gValues);
    /// <summary>See <see cref="Kernels.RowNorm"/>.</summary>
    static abstract void RowNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> center, Span<float> norms);
    /// <summary>See <see cref="Kernels.ColumnMax"/>.</summary>
    static abstract void ColumnMax(ReadOnlySpan<float> pre, Span<float> max);
    /// <summary>See <see cref="Kernels.AggregateByLatent"/>.</summary>
    static abstract void AggregateByLatent(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> g, ReadOnlySpan<float> v, ReadOnlySpan<float> center, bool accumulate, Span<float> gW, Span<float> gSum, Span<int> counts);
    /// <summary>See <see cref="Kernels.GradientScore"/>.</summary>
    static abstract void GradientScore(ReadOnlySpan<float> pre, ReadOnlySpan<float> proj, float beta, Span<float> score);
    /// <summary>See <see cref="Kernels.GatherCodes"/>.</summary>
    static abstract void GatherCodes(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> pre, Span<float> values);
    /// <summary>See <see cref="Kernels.Axpy"/>.</summary>
    static abstract void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y);
    /// <summary>See <see cref="Kernels.MaskLatents"/>.</summary>
    static abstract void MaskLatents(ReadOnlySpan<float> pre, ReadOnlySpan<int> mask, Span<float> output);
    /// <summary>See <see cref="Kernels.JumpReluThresholdGrad"/>.</summary>
    static abstract void JumpReluThresholdGrad(ReadOnlySpan<float> pre, ReadOnlySpan<float> theta, ReadOnlySpan<float> gOut, ReadOnlySpan<float> wDec, float eps, float l0Weight, float tanhWeight, float tanhScale, Span<float> gTheta);
    /// <summary>See <see cref="Kernels.ScaleLatents"/>.</summary>
    static abstract void ScaleLatents(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> scale, ReadOnlySpan<float> center, Span<float> values);
    /// <summary>See <see cref="Kernels.RowDot"/>.</summary>
    static abstract void RowDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output);
    /// <summary>See <see cref="Kernels.ScaleColumns"/>.</summary>
    static abstract void ScaleColumns(ReadOnlySpan<float> input, ReadOnlySpan<float> scale, ReadOnlySpan<float> center, Span<float> output);
    /// <summary>See <see cref="Kernels.TanhPenaltyGrad"/>.</summary>
    static abstract void TanhPenaltyGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, float weight, float scale, Span<float> gValues);
    /// <summary>See <see cref="Kernels.DecoderBiasGrad"/>.</summary>
    static abstract void DecoderBiasGrad(ReadOnlySpan<float> gOut, ReadOnlySpan<float> gbEnc, ReadOnlySpan<float> wEnc, Span<float> gbDec);
    /// <summary>See <see cref="Kernels.Adam"/>.</summary>
    static abstract void Adam(ReadOnlySpan<float> grad, Adam.Step s, Span<float> param, Span<float> m, Span<float> v);
    /// <summary>See <see cref="Kernels.RemoveParallelGrad"/>.</summary>
    static abstract void RemoveParallelGrad(ReadOnlySpan<float> w, int d, bool parallelOnly, Span<float> g);
    /// <summary>See <see cref="Kernels.NormalizeRows"/>.</summary>
    static abstract void NormalizeRows(int d, Span<float> w);
}

/// <summary>A backend whose tensors are managed arrays and whose ops are the static methods of <typeparamref name="TOps"/>.</summary>
/// <typeparam name="TOps">The op table: <see cref="ReferenceOps"/> or <see cref="CpuOps"/>.</typeparam>
internal class HostBackend<TOps> : Backend where TOps : IHostOps
{
    /// <inheritdoc />
    public override string Name => TOps.Name;

    /// <inheritdoc />
    private protected override Tensor<T> AllocateCore<T>(long length) => new HostTensor<T>(this, length);

    private protected override void UploadCore<T>(ReadOnlySpan<T> source, Tensor<T> destination, long offset) =>
        source.CopyTo(H(destination)[(int)offset..]);

    /// <inheritdoc />
    private protected override void DownloadCore<T>(Tensor<T> source, Span<T> destination) => H(source).CopyTo(destination);

    private protected override void DownloadCore<T>(Tensor<T> source, Span<T> destination, long offset) =>
        H(source).Slice((int)offset, destination.Length).CopyTo(destination);

    /// <inheritdoc />
    private protected override void ClearCore<T>(Tensor<T> tensor) => H(tensor).Clear();

    /// <inheritdoc />
    private protected override void CopyCore<T>(Tensor<T> source, Tensor<T> destination) => H(source).CopyTo(H(destination));

    /// <inheritdoc />
    private protected override void ExclusiveScanCore(Tensor<int> counts, Tensor<int> offsets) => TOps.ExclusiveScan(H(counts), H(offsets));

    /// <inheritdoc />
    private protected override void EncodeCore(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<float> pre) =>
        TOps.Encode(H(x), H(bDec), H(wEnc), H(bEnc), H(pre));

    /// <inheritdoc />
    private protected override void TopKCore(Tensor<float> pre, int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes)
    {
        TOps.TopK(H(pre), (int)(pre.Length / codes.Rows), k, absolute, targetNorms is null ? default : H(targetNorms),
            H(codes.Offsets), H(codes.Indices), H(codes.Values));
    }

    /// <inheritdoc />
    private protected override void EncodeTopKCore(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<int>? mask,
        int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes)
    {
        TOps.EncodeTopK(H(x), H(bDec), H(wEnc), H(bEnc), mask is null ? default : H(mask), k, absolute,
            targetNorms is null ? default : H(targetNorms), H(codes.Offsets), H(codes.Indices), H(codes.Values),
            UseInt8Screen ? Int8Screen.Fastest : null);
    }

    /// <inheritdoc />
    private protected override void ThresholdSelectCore(Tensor<float> pre, Tensor<float> thresholds, Tensor<int> cuts, SparseCodes codes) =>
        TOps.ThresholdSelect(H(pre), H(thresholds), H(cuts), H(codes.Offsets), H(codes.Indices), H(codes.Values));

    /// <inheritdoc />
    private protected override void BatchTopKThresholdCore(Tensor<float> pre, int m, Tensor<float> thresholds, Tensor<int> cuts) =>
        TOps.BatchTopKThreshold(H(pre), m, H(thresholds), H(cuts));

    /// <inheritdoc />
    private protected override void ColumnTopKThresholdCore(Tensor<float> pre, Tensor<int> budgets, Tensor<float> thresholds, Tensor<int> cuts) =>
        TOps.ColumnTopKThreshold(H(pre), H(budgets), H(thresholds), H(cuts));

    /// <inheritdoc />
    private protected override void MatchingPursuitCore(Tensor<float> x, Tensor<float> atoms, int k, SparseCodes codes, Tensor<float> residual)
    {
        TOps.MatchingPursuit(H(x), H(atoms), k, H(codes.Offsets), H(codes.Indices), H(codes.Values), H(residual));
    }

    /// <inheritdoc />
    private protected override void SparseDecodeCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> output) =>
        TOps.SparseDecode(H(codes.Offsets), H(codes.Indices), H(codes.Values), H(w), H(bias), H(output));

    /// <inheritdoc />
    private protected override void ReconstructionErrorCore(Tensor<float> x, Tensor<float> xhat, float scale, Tensor<float> grad, Tensor<float> sse) =>
        TOps.ReconstructionError(H(x), H(xhat), scale, H(grad), H(sse));

    /// <inheritdoc />
    private protected override void SparseDecodeGradCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, float scale,
        float shift, Tensor<float> xhat, Tensor<float> grad, Tensor<float> sse, Tensor<float> gValues) =>
        TOps.SparseDecodeGrad(H(codes.Offsets), H(codes.Indices), H(codes.Values), H(w), H(bias), H(x), scale, shift, H(xhat),
            H(grad), H(sse), H(gValues));

    /// <inheritdoc />
    private protected override void ValueGradCore(SparseCodes codes, Tensor<float> gOut, Tensor<float> w, float shift, Tensor<float> gValues) =>
        TOps.ValueGrad(H(codes.Offsets), H(codes.Indices), H(gOut), H(w), shift, H(gValues));

    /// <inheritdoc />
    private protected override void PrefixLossCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, Tensor<int> ends,
        Tensor<float> coefficients, SparseCodes groups, Tensor<float> gGroup, Tensor<float> gOut, Tensor<float> gValues, Tensor<float> sse)
    {
        TOps.PrefixLoss(H(codes.Offsets), H(codes.Indices), H(codes.Values), H(w), H(bias), H(x), H(ends), H(coefficients),
            H(groups.Offsets), H(gGroup), H(gOut), H(gValues), H(sse));
    }

    /// <inheritdoc />
    private protected override void AfaLossGradCore(SparseCodes codes, Tensor<float> targets, float coefficient, Tensor<float> gValues) =>
        TOps.AfaLossGrad(H(codes.Offsets), H(codes.Values), H(targets), coefficient, H(gValues));

    /// <inheritdoc />
    private protected override void RowNormCore(Tensor<float> x, Tensor<float> center, Tensor<float> norms) => TOps.RowNorm(H(x), H(center), H(norms));

    /// <inheritdoc />
    private protected override void ColumnMaxCore(Tensor<float> pre, Tensor<float> max) => TOps.ColumnMax(H(pre), H(max));

    /// <inheritdoc />
    private protected override void AggregateByLatentCore(SparseCodes codes, Tensor<float> g, Tensor<float> v, Tensor<float> center,
        bool accumulate, Tensor<float> gW, Tensor<float> gSum, Tensor<int> counts) =>
        TOps.AggregateByLatent(H(codes.Offsets), H(codes.Indices), H(g), H(v), H(center), accumulate, H(gW), H(gSum), H(counts));

    /// <inheritdoc />
    private protected override void GradientScoreCore(Tensor<float> pre, Tensor<float> proj, float beta, Tensor<float> score) =>
        TOps.GradientScore(H(pre), H(proj), beta, H(score));

    /// <inheritdoc />
    private protected override void GatherCodesCore(SparseCodes codes, Tensor<float> pre)
    {
        TOps.GatherCodes(H(codes.Offsets), H(codes.Indices), H(pre), H(codes.Values));
    }

    /// <inheritdoc />
    private protected override void AxpyCore(float alpha, Tensor<float> x, Tensor<float> y) => TOps.Axpy(alpha, H(x), H(y));

    /// <inheritdoc />
    private protected override void MaskLatentsCore(Tensor<float> pre, Tensor<int> mask, Tensor<float> output) => TOps.MaskLatents(H(pre), H(mask), H(output));

    /// <inheritdoc />
    private protected override void JumpReluThresholdGradCore(Tensor<float> pre, Tensor<float> theta, Tensor<float> gOut, Tensor<float> wDec,
        float eps, float l0Weight, float tanhWeight, float tanhScale, Tensor<float> gTheta) =>
        TOps.JumpReluThresholdGrad(H(pre), H(theta), H(gOut), H(wDec), eps, l0Weight, tanhWeight, tanhScale, H(gTheta));

    /// <inheritdoc />
    private protected override void ScaleLatentsCore(SparseCodes codes, Tensor<float> scale, Tensor<float> center, Tensor<float> values) =>
        TOps.ScaleLatents(H(codes.Offsets), H(codes.Indices), H(scale), H(center), H(values));

    /// <inheritdoc />
    private protected override void RowDotCore(Tensor<float> a, Tensor<float> b, Tensor<float> output) => TOps.RowDot(H(a), H(b), H(output));

    /// <inheritdoc />
    private protected override void ScaleColumnsCore(Tensor<float> input, Tensor<float> scale, Tensor<float> center, Tensor<float> output) =>
        TOps.ScaleColumns(H(input), H(scale), H(center), H(output));

    /// <inheritdoc />
    private protected override void TanhPenaltyGradCore(SparseCodes codes, float weight, float scale, Tensor<float> gValues) =>
        TOps.TanhPenaltyGrad(H(codes.Offsets), H(codes.Values), weight, scale, H(gValues));

    /// <inheritdoc />
    private protected override void DecoderBiasGradCore(Tensor<float> gOut, Tensor<float> gbEnc, Tensor<float> wEnc, Tensor<float> gbDec) =>
        TOps.DecoderBiasGrad(H(gOut), H(gbEnc), H(wEnc), H(gbDec));

    /// <inheritdoc />
    private protected override void AdamCore(Tensor<float> grad, Adam.Step step, Tensor<float> param, Tensor<float> m, Tensor<float> v) =>
        TOps.Adam(H(grad), step, H(param), H(m), H(v));

    /// <inheritdoc />
    private protected override void RemoveParallelGradCore(Tensor<float> w, int d, bool parallelOnly, Tensor<float> g) => TOps.RemoveParallelGrad(H(w), d, parallelOnly, H(g));

    /// <inheritdoc />
    private protected override void NormalizeRowsCore(int d, Tensor<float> w) => TOps.NormalizeRows(d, H(w));

    // The tensor's array (every op validated ownership and lengths before its core runs).
    private static Span<T> H<T>(Tensor<T> t) where T : unmanaged => ((HostTensor<T>)t).Data;
}

/// <summary>Op table of the scalar float64-accumulating oracle.</summary>
internal readonly struct ReferenceOps : IHostOps
{
    /// <inheritdoc />
    public static string Name => "reference";
    /// <inheritdoc />
    public static void ExclusiveScan(ReadOnlySpan<int> counts, Span<int> offsets) => Kernels.ExclusiveScan.Reference(counts, offsets);
    /// <inheritdoc />
    public static void Encode(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc, Span<float> pre) => Kernels.Encode.Reference(x, bDec, wEnc, bEnc, pre);
    /// <inheritdoc />
    public static void TopK(ReadOnlySpan<float> pre, int f, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values) => Kernels.TopK.Reference(pre, f, k, absolute, targetNorms, offsets, indices, values);
    /// <inheritdoc />
    public static void EncodeTopK(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc, ReadOnlySpan<int> mask, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values, Int8Kernel? screen) => Kernels.EncodeTopK.Reference(x, bDec, wEnc, bEnc, mask, k, absolute, targetNorms, offsets, indices, values);
    /// <inheritdoc />
    public static void ThresholdSelect(ReadOnlySpan<float> pre, ReadOnlySpan<float> thresholds, ReadOnlySpan<int> cuts, Span<int> offsets, Span<int> indices, Span<float> values) => Kernels.ThresholdSelect.Reference(pre, thresholds, cuts, offsets, indices, values);
    /// <inheritdoc />
    public static void BatchTopKThreshold(ReadOnlySpan<float> pre, int m, Span<float> thresholds, Span<int> cuts) => Kernels.BatchTopKThreshold.Reference(pre, m, thresholds, cuts);
    /// <inheritdoc />
    public static void ColumnTopKThreshold(ReadOnlySpan<float> pre, ReadOnlySpan<int> budgets, Span<float> thresholds, Span<int> cuts) => Kernels.ColumnTopKThreshold.Reference(pre, budgets, thresholds, cuts);
    /// <inheritdoc />
    public static void SparseDecode(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> output) => Kernels.SparseDecode.Reference(offsets, indices, values, w, bias, output);
    /// <inheritdoc />
    public static void MatchingPursuit(ReadOnlySpan<float> x, ReadOnlySpan<float> atoms, int k, Span<int> offsets, Span<int> indices, Span<float> values, Span<float> residual) => Kernels.MatchingPursuit.Reference(x, atoms, k, offsets, indices, values, residual);
    /// <inheritdoc />
    public static void ReconstructionError(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, float scale, Span<float> grad, Span<float> sse) => Kernels.ReconstructionError.Reference(x, xhat, scale, grad, sse);
    /// <inheritdoc />
    public static void SparseDecodeGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, float scale, float shift, Span<float> xhat, Span<float> grad, Span<float> sse, Span<float> gValues) => Kernels.SparseDecodeGrad.Reference(offsets, indices, values, w, bias, x, scale, shift, xhat, grad, sse, gValues);
    /// <inheritdoc />
    public static void ValueGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> gOut, ReadOnlySpan<float> w, float shift, Span<float> gValues) => Kernels.ValueGrad.Reference(offsets, indices, gOut, w, shift, gValues);
    /// <inheritdoc />
    public static void AfaLossGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, ReadOnlySpan<float> targets, float coefficient, Span<float> gValues) => Kernels.AfaLossGrad.Reference(offsets, values, targets, coefficient, gValues);
    /// <inheritdoc />
    public static void PrefixLoss(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, ReadOnlySpan<int> ends, ReadOnlySpan<float> coefficients, Span<int> groupOffsets, Span<float> gGroup, Span<float> gOut, Span<float> gValues, Span<float> sse) => Kernels.PrefixLoss.Reference(offsets, indices, values, w, bias, x, ends, coefficients, groupOffsets, gGroup, gOut, gValues, sse);
    /// <inheritdoc />
    public static void RowNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> center, Span<float> norms) => Kernels.RowNorm.Reference(x, center, norms);
    /// <inheritdoc />
    public static void ColumnMax(ReadOnlySpan<float> pre, Span<float> max) => Kernels.ColumnMax.Reference(pre, max);
    /// <inheritdoc />
    public static void AggregateByLatent(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> g, ReadOnlySpan<float> v, ReadOnlySpan<float> center, bool accumulate, Span<float> gW, Span<float> gSum, Span<int> counts) => Kernels.AggregateByLatent.Reference(offsets, indices, g, v, center, accumulate, gW, gSum, counts);
    /// <inheritdoc />
    public static void MaskLatents(ReadOnlySpan<float> pre, ReadOnlySpan<int> mask, Span<float> output) => Kernels.MaskLatents.Reference(pre, mask, output);
    /// <inheritdoc />
    public static void GradientScore(ReadOnlySpan<float> pre, ReadOnlySpan<float> proj, float beta, Span<float> score) => Kernels.GradientScore.Reference(pre, proj, beta, score);
    /// <inheritdoc />
    public static void GatherCodes(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> pre, Span<float> values) => Kernels.GatherCodes.Reference(offsets, indices, pre, values);
    /// <inheritdoc />
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y) => Kernels.Axpy.Reference(alpha, x, y);
    /// <inheritdoc />
    public static void JumpReluThresholdGrad(ReadOnlySpan<float> pre, ReadOnlySpan<float> theta, ReadOnlySpan<float> gOut, ReadOnlySpan<float> wDec, float eps, float l0Weight, float tanhWeight, float tanhScale, Span<float> gTheta) => Kernels.JumpReluThresholdGrad.Reference(pre, theta, gOut, wDec, eps, l0Weight, tanhWeight, tanhScale, gTheta);
    /// <inheritdoc />
    public static void ScaleLatents(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> scale, ReadOnlySpan<float> center, Span<float> values) => Kernels.ScaleLatents.Reference(offsets, indices, scale, center, values);
    /// <inheritdoc />
    public static void RowDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output) => Kernels.RowDot.Reference(a, b, output);
    /// <inheritdoc />
    public static void ScaleColumns(ReadOnlySpan<float> input, ReadOnlySpan<float> scale, ReadOnlySpan<float> center, Span<float> output) => Kernels.ScaleColumns.Reference(input, scale, center, output);
    /// <inheritdoc />
    public static void TanhPenaltyGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, float weight, float scale, Span<float> gValues) =>
        Kernels.TanhPenaltyGrad.Reference(offsets, values, weight, scale, gValues);
    /// <inheritdoc />
    public static void DecoderBiasGrad(ReadOnlySpan<float> gOut, ReadOnlySpan<float> gbEnc, ReadOnlySpan<float> wEnc, Span<float> gbDec) => Kernels.DecoderBiasGrad.Reference(gOut, gbEnc, wEnc, gbDec);
    /// <inheritdoc />
    public static void Adam(ReadOnlySpan<float> grad, Adam.Step s, Span<float> param, Span<float> m, Span<float> v) => Kernels.Adam.Reference(grad, s, param, m, v);
    /// <inheritdoc />
    public static void RemoveParallelGrad(ReadOnlySpan<float> w, int d, bool parallelOnly, Span<float> g) => Kernels.RemoveParallelGrad.Reference(w, d, parallelOnly, g);
    /// <inheritdoc />
    public static void NormalizeRows(int d, Span<float> w) => Kernels.NormalizeRows.Reference(d, w);
}

/// <summary>Op table of the fast SIMD, multi-threaded CPU path.</summary>
internal readonly struct CpuOps : IHostOps
{
    /// <inheritdoc />
    public static string Name => "cpu";
    /// <inheritdoc />
    public static void ExclusiveScan(ReadOnlySpan<int> counts, Span<int> offsets) => Kernels.ExclusiveScan.Cpu(counts, offsets);
    /// <inheritdoc />
    public static void Encode(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc, Span<float> pre) => Kernels.Encode.Cpu(x, bDec, wEnc, bEnc, pre);
    /// <inheritdoc />
    public static void TopK(ReadOnlySpan<float> pre, int f, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values) => Kernels.TopK.Cpu(pre, f, k, absolute, targetNorms, offsets, indices, values);
    /// <inheritdoc />
    public static void EncodeTopK(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc, ReadOnlySpan<int> mask, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values, Int8Kernel? screen) => Kernels.EncodeTopK.Cpu(x, bDec, wEnc, bEnc, mask, k, absolute, targetNorms, offsets, indices, values, screen);
    /// <inheritdoc />
    public static void ThresholdSelect(ReadOnlySpan<float> pre, ReadOnlySpan<float> thresholds, ReadOnlySpan<int> cuts, Span<int> offsets, Span<int> indices, Span<float> values) => Kernels.ThresholdSelect.Cpu(pre, thresholds, cuts, offsets, indices, values);
    /// <inheritdoc />
    public static void BatchTopKThreshold(ReadOnlySpan<float> pre, int m, Span<float> thresholds, Span<int> cuts) => Kernels.BatchTopKThreshold.Cpu(pre, m, thresholds, cuts);
    /// <inheritdoc />
    public static void ColumnTopKThreshold(ReadOnlySpan<float> pre, ReadOnlySpan<int> budgets, Span<float> thresholds, Span<int> cuts) => Kernels.ColumnTopKThreshold.Cpu(pre, budgets, thresholds, cuts);
    /// <inheritdoc />
    public static void SparseDecode(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> output) => Kernels.SparseDecode.Cpu(offsets, indices, values, w, bias, output);
    /// <inheritdoc />
    public static void MatchingPursuit(ReadOnlySpan<float> x, ReadOnlySpan<float> atoms, int k, Span<int> offsets, Span<int> indices, Span<float> values, Span<float> residual) => Kernels.MatchingPursuit.Cpu(x, atoms, k, offsets, indices, values, residual);
    /// <inheritdoc />
    public static void ReconstructionError(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, float scale, Span<float> grad, Span<float> sse) => Kernels.ReconstructionError.Cpu(x, xhat, scale, grad, sse);
    /// <inheritdoc />
    public static void SparseDecodeGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, float scale, float shift, Span<float> xhat, Span<float> grad, Span<float> sse, Span<float> gValues) => Kernels.SparseDecodeGrad.Cpu(offsets, indices, values, w, bias, x, scale, shift, xhat, grad, sse, gValues);
    /// <inheritdoc />
    public static void ValueGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> gOut, ReadOnlySpan<float> w, float shift, Span<float> gValues) => Kernels.ValueGrad.Cpu(offsets, indices, gOut, w, shift, gValues);
    /// <inheritdoc />
    public static void AfaLossGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, ReadOnlySpan<float> targets, float coefficient, Span<float> gValues) => Kernels.AfaLossGrad.Cpu(offsets, values, targets, coefficient, gValues);
    /// <inheritdoc />
    public static void PrefixLoss(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, ReadOnlySpan<int> ends, ReadOnlySpan<float> coefficients, Span<int> groupOffsets, Span<float> gGroup, Span<float> gOut, Span<float> gValues, Span<float> sse) => Kernels.PrefixLoss.Cpu(offsets, indices, values, w, bias, x, ends, coefficients, groupOffsets, gGroup, gOut, gValues, sse);
    /// <inheritdoc />
    public static void RowNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> center, Span<float> norms) => Kernels.RowNorm.Cpu(x, center, norms);
    /// <inheritdoc />
    public static void ColumnMax(ReadOnlySpan<float> pre, Span<float> max) => Kernels.ColumnMax.Cpu(pre, max);
    /// <inheritdoc />
    public static void AggregateByLatent(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> g, ReadOnlySpan<float> v, ReadOnlySpan<float> center, bool accumulate, Span<float> gW, Span<float> gSum, Span<int> counts) => Kernels.AggregateByLatent.Cpu(offsets, indices, g, v, center, accumulate, gW, gSum, counts);
    /// <inheritdoc />
    public static void MaskLatents(ReadOnlySpan<float> pre, ReadOnlySpan<int> mask, Span<float> output) => Kernels.MaskLatents.Cpu(pre, mask, output);
    /// <inheritdoc />
    public static void GradientScore(ReadOnlySpan<float> pre, ReadOnlySpan<float> proj, float beta, Span<float> score) => Kernels.GradientScore.Cpu(pre, proj, beta, score);
    /// <inheritdoc />
    public static void GatherCodes(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> pre, Span<float> values) => Kernels.GatherCodes.Cpu(offsets, indices, pre, values);
    /// <inheritdoc />
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y) => Kernels.Axpy.Cpu(alpha, x, y);
    /// <inheritdoc />
    public static void JumpReluThresholdGrad(ReadOnlySpan<float> pre, ReadOnlySpan<float> theta, ReadOnlySpan<float> gOut, ReadOnlySpan<float> wDec, float eps, float l0Weight, float tanhWeight, float tanhScale, Span<float> gTheta) => Kernels.JumpReluThresholdGrad.Cpu(pre, theta, gOut, wDec, eps, l0Weight, tanhWeight, tanhScale, gTheta);
    /// <inheritdoc />
    public static void ScaleLatents(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> scale, ReadOnlySpan<float> center, Span<float> values) => Kernels.ScaleLatents.Cpu(offsets, indices, scale, center, values);
    /// <inheritdoc />
    public static void RowDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> output) => Kernels.RowDot.Cpu(a, b, output);
    /// <inheritdoc />
    public static void ScaleColumns(ReadOnlySpan<float> input, ReadOnlySpan<float> scale, ReadOnlySpan<float> center, Span<float> output) => Kernels.ScaleColumns.Cpu(input, scale, center, output);
    /// <inheritdoc />
    public static void TanhPenaltyGrad(ReadOnlySpan<int> offsets, ReadOnlySpan<float> values, float weight, float scale, Span<float> gValues) =>
        Kernels.TanhPenaltyGrad.Cpu(offsets, values, weight, scale, gValues);
    /// <inheritdoc />
    public static void DecoderBiasGrad(ReadOnlySpan<float> gOut, ReadOnlySpan<float> gbEnc, ReadOnlySpan<float> wEnc, Span<float> gbDec) => Kernels.DecoderBiasGrad.Cpu(gOut, gbEnc, wEnc, gbDec);
    /// <inheritdoc />
    public static void Adam(ReadOnlySpan<float> grad, Adam.Step s, Span<float> param, Span<float> m, Span<float> v) => Kernels.Adam.Cpu(grad, s, param, m, v);
    /// <inheritdoc />
    public static void RemoveParallelGrad(ReadOnlySpan<float> w, int d, bool parallelOnly, Span<float> g) => Kernels.RemoveParallelGrad.Cpu(w, d, parallelOnly, g);
    /// <inheritdoc />
    public static void NormalizeRows(int d, Span<float> w) => Kernels.NormalizeRows.Cpu(d, w);
}

/// <summary>The scalar float64-accumulating oracle backend: slow, obvious, the reference every other backend is tested against.</summary>
internal sealed class ReferenceBackend : HostBackend<ReferenceOps>;

/// <summary>
/// The fast CPU backend: blocked Vector256 FMA kernels, parallel over tiles and rows; TopK-style selections through the
/// int8 screen where the CPU has a fast int8 kernel (see <see cref="Backend.UseInt8Screen"/>).
/// </summary>
internal sealed class CpuBackend : HostBackend<CpuOps>
{
    /// <summary>
    /// Creates the backend. The int8 screen is on by default where the CPU has AVX-VNNI (measured faster than fp32 there),
    /// off on CPUs with only AVX-512BW (supported, but measured no faster: see docs/benchmarks.md); SAEGPU_INT8_SCREEN
    /// "1" turns it on wherever supported, "0" off.
    /// </summary>
    public CpuBackend() => UseInt8Screen = Environment.GetEnvironmentVariable(Int8ScreenVariable)?.Trim() switch
    {
        "0" => false,
        "1" => Int8ScreenSupported,
        _ => Int8Screen.Fastest == Int8Kernel.Vnni,
    };

    /// <inheritdoc />
    public override bool Int8ScreenSupported => Int8Screen.Fastest != Int8Kernel.Scalar;
}

/// <summary>A tensor in managed host memory.</summary>
/// <typeparam name="T">Element type.</typeparam>
internal sealed class HostTensor<T> : Tensor<T> where T : unmanaged
{
    internal HostTensor(Backend owner, long length) : base(owner, length) => Data = new T[length];

    /// <summary>The elements.</summary>
    public T[] Data { get; }

    /// <inheritdoc />
    public override void Dispose() { }
}
