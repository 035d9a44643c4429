using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using SaeGpu.Kernels;

namespace SaeGpu.Compute;

/// <summary>A tensor in ILGPU device memory.</summary>
/// <typeparam name="T">Element type.</typeparam>
internal sealed class GpuTensor<T> : Tensor<T> where T : unmanaged
{
    internal GpuTensor(Backend owner, Accelerator accelerator, long length) : base(owner, length)
    {
        Buffer = accelerator.Allocate1D<T>(Math.Max(1, length));
        Buffer.MemSetToZero();
    }

    /// <summary>The device buffer (at least one element, so empty tensors still have a view).</summary>
    public MemoryBuffer1D<T, Stride1D.Dense> Buffer { get; }

    /// <summary>View over exactly <see cref="Tensor{T}.Length"/> elements.</summary>
    public ArrayView<T> View => Buffer.View.SubView(0, Length);

    /// <inheritdoc />
    public override void Dispose() => Buffer.Dispose();
}

/// <summary>
/// The ILGPU backend: CUDA when a device is present (or required), else ILGPU's CPU accelerator configured like an
/// NVIDIA device (warp 32, up to 1024 threads per group; for correctness checks only: it emulates every device thread on
/// the host, far slower than <see cref="CpuBackend"/>).
/// Kernels are loaded once per backend and cached; scratch buffers are cached by size, so steady-state steps do not allocate.
/// </summary>
internal sealed class GpuBackend : Backend
{
    private readonly Context context;
    private readonly Accelerator accelerator;
    private readonly Dictionary<string, object> scratch = [];
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> encode;
    private readonly Action<KernelConfig, ArrayView<int>, ArrayView<int>, int> scan;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int> topkSelect;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int, int, int, int> topkRadix;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int> topkCompact;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> decode;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int, int> pursuitStep;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int> thresholdCount;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int> thresholdFill;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, int> countAtLeast;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, int, long> countTies;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int> columnThreshold;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, int> error;
    private readonly Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> valueGrad;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> rowNorm;
    private readonly Action<KernelConfig, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float> afaLossGrad;
    private readonly Action<KernelConfig, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> prefixLoss;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> columnMax;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>> histogram;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>> fill;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>> sortSegments;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int> decoderBiasReduce;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> aggregate;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int> aggregateBias;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>> maskLatents;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float> gradientScore;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int> gatherCodes;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, float> axpy;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, float, float, float> jumpReluThresholdGrad;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>> scaleLatents;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> rowDot;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> scaleColumns;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>, float, float> tanhPenaltyGrad;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> decoderBias;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Adam.Step> adam;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> removeParallel;
    private readonly Action<KernelConfig, ArrayView<float>, int> normalize;

    /// <summary>Creates the backend. <paramref name="forceCpuAccelerator"/> selects ILGPU's CPU accelerator even when CUDA is present.</summary>
    public GpuBackend(bool forceCpuAccelerator = false)
    {
        context = Context.Create(b => b.Cuda().CPU(CPUDeviceKind.Nvidia).Optimize(OptimizationLevel.O2).EnableAlgorithms());
        accelerator = !forceCpuAccelerator && context.GetCudaDevices().Count > 0
            ? context.CreateCudaAccelerator(0)
            : context.CreateCPUAccelerator(0);
        var a = accelerator;
        encode = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.Encode.GpuV1);
        scan = a.LoadStreamKernel<ArrayView<int>, ArrayView<int>, int>(Kernels.ExclusiveScan.GpuV1);
        topkSelect = a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int, int>(Kernels.TopK.GpuSelectV1);
        topkRadix = a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int, int, int, int>(Kernels.TopK.GpuSelectV2);
        topkCompact = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int>(Kernels.TopK.GpuCompactV1);
        thresholdCount = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int>(Kernels.ThresholdSelect.GpuCountV1);
        thresholdFill = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, int>(Kernels.ThresholdSelect.GpuFillV1);
        countAtLeast = a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, int>(Kernels.BatchTopKThreshold.GpuCountAtLeastV1);
        countTies = a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, int, long>(Kernels.BatchTopKThreshold.GpuCountTiesV1);
        columnThreshold = a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int>(Kernels.ColumnTopKThreshold.GpuV1);
        pursuitStep = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, int, int, int>(Kernels.MatchingPursuit.GpuStepV1);
        decode = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Kernels.SparseDecode.GpuV1);
        error = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, int>(Kernels.ReconstructionError.GpuV1);
        valueGrad = a.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(Kernels.ValueGrad.GpuV1);
        afaLossGrad = a.LoadStreamKernel<ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(Kernels.AfaLossGrad.GpuV1);
        prefixLoss = a.LoadStreamKernel<ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Kernels.PrefixLoss.GpuV1);
        rowNorm = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Kernels.RowNorm.GpuV1);
        columnMax = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(Kernels.ColumnMax.GpuV1);
        histogram = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>>(Kernels.AggregateByLatent.GpuHistogramV1);
        fill = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<int>>(Kernels.AggregateByLatent.GpuFillV1);
        sortSegments = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>>(Kernels.AggregateByLatent.GpuSortV1);
        decoderBiasReduce = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(Kernels.DecoderBiasGrad.GpuReduceV1);
        aggregate = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(Kernels.AggregateByLatent.GpuSumV1);
        aggregateBias = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int>(Kernels.AggregateByLatent.GpuBiasV1);
        gradientScore = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float>(Kernels.GradientScore.GpuV1);
        gatherCodes = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int>(Kernels.GatherCodes.GpuV1);
        axpy = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, float>(Kernels.Axpy.GpuV1);
        maskLatents = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>>(Kernels.MaskLatents.GpuV1);
        jumpReluThresholdGrad = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, float, float, float>(Kernels.JumpReluThresholdGrad.GpuV1);
        scaleLatents = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(Kernels.ScaleLatents.GpuV1);
        rowDot = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Kernels.RowDot.GpuV1);
        scaleColumns = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(Kernels.ScaleColumns.GpuV1);
        tanhPenaltyGrad = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<float>, ArrayView<float>, float, float>(Kernels.TanhPenaltyGrad.GpuV1);
        decoderBias = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(Kernels.DecoderBiasGrad.GpuV1);
        adam = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Adam.Step>(Kernels.Adam.GpuV1);
        removeParallel = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(Kernels.RemoveParallelGrad.GpuV1);
        normalize = a.LoadStreamKernel<ArrayView<float>, int>(Kernels.NormalizeRows.GpuV1);
    }

    /// <inheritdoc />
    public override string Name => accelerator.AcceleratorType == AcceleratorType.Cuda ? "gpu" : "ilgpu-cpu";

    /// <summary>The device's name as ILGPU reports it.</summary>
    public override string DeviceName => accelerator.Name;

    /// <inheritdoc />
    internal override long? DeviceMemoryBytes => accelerator.AcceleratorType == AcceleratorType.Cuda ? accelerator.MemorySize : null;

    /// <inheritdoc />
    private protected override Tensor<T> AllocateCore<T>(long length) => new GpuTensor<T>(this, accelerator, length);

    private protected override void UploadCore<T>(ReadOnlySpan<T> source, Tensor<T> destination, long offset) =>
        V(destination).SubView(offset, source.Length).CopyFromCPU(source);

    /// <inheritdoc />
    private protected override void DownloadCore<T>(Tensor<T> source, Span<T> destination, long offset)
    {
        accelerator.Synchronize();
        V(source).SubView(offset, destination.Length).CopyToCPU(destination);
    }

    /// <inheritdoc />
    private protected override void DownloadCore<T>(Tensor<T> source, Span<T> destination)
    {
        accelerator.Synchronize();
        if (destination.Length > 0) V(source).CopyToCPU(destination);
    }

    /// <inheritdoc />
    private protected override void ClearCore<T>(Tensor<T> tensor) => V(tensor).MemSetToZero();

    /// <inheritdoc />
    private protected override void CopyCore<T>(Tensor<T> source, Tensor<T> destination) => V(destination).CopyFrom(V(source));

    /// <inheritdoc />
    public override void Synchronize() => accelerator.Synchronize();

    /// <inheritdoc />
    private protected override void ExclusiveScanCore(Tensor<int> counts, Tensor<int> offsets) =>
        scan(Kernels.ExclusiveScan.GpuConfig(), V(counts), V(offsets), (int)counts.Length);

    /// <inheritdoc />
    private protected override void EncodeCore(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<float> pre)
    {
        int d = (int)bDec.Length, f = (int)bEnc.Length, b = (int)(x.Length / d);
        encode(Kernels.Encode.GpuConfig(b, f), V(x), V(bDec), V(wEnc), V(bEnc), V(pre), b, d, f);
    }

    /// <inheritdoc />
    private protected override void TopKCore(Tensor<float> pre, int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes)
    {
        SelectTopK(V(pre), codes.Rows, (int)(pre.Length / codes.Rows), k, absolute, targetNorms, codes);
    }

    private void SelectTopK(ArrayView<float> pre, int b, int f, int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes)
    {
        var pIdx = Scratch<int>("topk.idx", (long)b * k);
        var pVal = Scratch<float>("topk.val", (long)b * k);
        var counts = Scratch<int>("topk.counts", b);
        if (targetNorms is null) topkRadix(Kernels.TopK.GpuSelectConfig(b), pre, pIdx, pVal, counts, pIdx, pVal, counts, f, 0, k, absolute ? 1 : 0, 0);
        else topkSelect(Kernels.TopK.GpuSelectConfig(b), pre, pIdx, pVal, counts, V(targetNorms), f, k, absolute ? 1 : 0, 1);
        CompactTopK(pIdx, pVal, counts, b, k, codes);
    }

    // Steps 2 and 3 of the GPU TopK: offsets from the per-row counts, then the padded slots into CSR.
    private void CompactTopK(ArrayView<int> paddedIdx, ArrayView<float> paddedVal, ArrayView<int> counts, int b, int k, SparseCodes codes)
    {
        scan(Kernels.ExclusiveScan.GpuConfig(), counts, V(codes.Offsets), b);
        topkCompact((int)((long)b * k), paddedIdx, paddedVal, counts, V(codes.Offsets), V(codes.Indices), V(codes.Values), k);
    }

    /// <summary>
    /// Most pre-activations the fused <c>Backend.EncodeTopK</c> holds at once (default 2^26 floats, 256 MB): F is encoded in
    /// chunks of max(64, ⌊this / B⌋ rounded down to a multiple of 64) latents, each chunk's TopK merged with the k
    /// candidates kept from the chunks before (<see cref="Kernels.TopK.GpuSelectV2"/>), so device memory holds B·chunk + 2·B·k
    /// values instead of B·F. Top-AFA, whose count needs the whole row in rank order, encodes all of F at once.
    /// </summary>
    public long EncodeTopKScratchFloats
    {
        get => encodeTopKScratch;
        set => encodeTopKScratch = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "must be ≥ 1");
    }

    private long encodeTopKScratch = 1L << 26;

    /// <inheritdoc />
    private protected override void EncodeTopKCore(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<int>? mask,
        int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes)
    {
        int b = codes.Rows, f = (int)bEnc.Length;
        int chunk = targetNorms is null ? (int)Math.Min(f, Math.Max(64, encodeTopKScratch / b / 64 * 64)) : f;
        var pre = Scratch<float>("encodeTopK.pre", (long)b * chunk);
        if (chunk == f)
        {
            EncodeChunk(x, bDec, wEnc, bEnc, mask, 0, f, pre);
            SelectTopK(pre, b, f, k, absolute, targetNorms, codes);
            return;
        }
        var (idx, val, cnt) = (Scratch<int>("encodeTopK.idx", (long)b * k), Scratch<float>("encodeTopK.val", (long)b * k), Scratch<int>("encodeTopK.cnt", b));
        var (idx2, val2, cnt2) = (Scratch<int>("encodeTopK.idx2", (long)b * k), Scratch<float>("encodeTopK.val2", (long)b * k), Scratch<int>("encodeTopK.cnt2", b));
        for (int c0 = 0; c0 < f; c0 += chunk)
        {
            int fc = Math.Min(chunk, f - c0);
            var part = pre.SubView(0, (long)b * fc);
            EncodeChunk(x, bDec, wEnc, bEnc, mask, c0, fc, part);
            topkRadix(Kernels.TopK.GpuSelectConfig(b), part, idx, val, cnt, idx2, val2, cnt2, fc, c0, k, absolute ? 1 : 0, c0 > 0 ? 1 : 0);
            (idx, idx2, val, val2, cnt, cnt2) = (idx2, idx, val2, val, cnt2, cnt);
        }
        CompactTopK(idx, val, cnt, b, k, codes);
    }

    // pre [B, fc] of latents c0 … c0 + fc − 1 (masked ones zeroed).
    private void EncodeChunk(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<int>? mask,
        int c0, int fc, ArrayView<float> pre)
    {
        int d = (int)bDec.Length, b = (int)(x.Length / d);
        encode(Kernels.Encode.GpuConfig(b, fc), V(x), V(bDec), V(wEnc).SubView((long)c0 * d, (long)fc * d), V(bEnc).SubView(c0, fc), pre, b, d, fc);
        if (mask is not null) maskLatents((int)((long)b * fc), pre, V(mask).SubView(c0, fc), pre);
    }

    /// <inheritdoc />
    private protected override void ThresholdSelectCore(Tensor<float> pre, Tensor<float> thresholds, Tensor<int> cuts, SparseCodes codes)
    {
        int b = codes.Rows, f = (int)thresholds.Length;
        var counts = Scratch<int>("select.counts", b);
        thresholdCount(Kernels.ThresholdSelect.GpuConfig(b), V(pre), V(thresholds), V(cuts), counts, f);
        scan(Kernels.ExclusiveScan.GpuConfig(), counts, V(codes.Offsets), b);
        accelerator.Synchronize();
        int[] total = new int[1];
        V(codes.Offsets).SubView(b, 1).CopyToCPU(total);
        if (total[0] > codes.Capacity)
            throw new InvalidOperationException($"ThresholdSelect: {total[0]} entries pass but the sparse codes hold {codes.Capacity}.");
        thresholdFill(Kernels.ThresholdSelect.GpuConfig(b), V(pre), V(thresholds), V(cuts), V(codes.Offsets), V(codes.Indices), V(codes.Values), f);
    }

    /// <summary>
    /// GPU BatchTopK threshold: the host bisects on the float bit pattern with a device counting kernel (31 rounds) to find
    /// τ, the m-th largest value; only when ties at τ overflow the budget does it bisect on the flat index (≤ 27 rounds) for
    /// the last admitted tie. Thresholds and cuts [F] are then uploaded.
    /// </summary>
    private protected override void BatchTopKThresholdCore(Tensor<float> pre, int m, Tensor<float> thresholds, Tensor<int> cuts)
    {
        int f = (int)thresholds.Length;
        var counter = Scratch<int>("btk.counter", 1);
        var config = Kernels.BatchTopKThreshold.GpuConfig(pre.Length);
        int[] one = new int[1];
        long CountAtLeast(int bits)
        {
            counter.MemSetToZero();
            countAtLeast(config, V(pre), counter, bits);
            accelerator.Synchronize();
            counter.CopyToCPU(one);
            return one[0];
        }
        long CountTies(int bits, long last)
        {
            counter.MemSetToZero();
            countTies(config, V(pre), counter, bits, last);
            accelerator.Synchronize();
            counter.CopyToCPU(one);
            return one[0];
        }
        var hostT = new float[f];
        var hostC = new int[f];
        if (CountAtLeast(1) <= m) Kernels.BatchTopKThreshold.KeepAllPositive(hostT, hostC);
        else
        {
            int lo = 1, hi = 0x7F800001;
            while (hi - lo > 1)
            {
                int mid = lo + (hi - lo) / 2;
                if (CountAtLeast(mid) >= m) lo = mid; else hi = mid;
            }
            long above = lo == int.MaxValue ? 0 : CountAtLeast(lo + 1), need = m - above;
            long last = pre.Length - 1;
            if (CountTies(lo, last) > need)
            {
                long a = -1;
                while (last - a > 1)
                {
                    long mid = a + (last - a) / 2;
                    if (CountTies(lo, mid) >= need) last = mid; else a = mid;
                }
            }
            Kernels.BatchTopKThreshold.FillCuts(BitConverter.Int32BitsToSingle(lo), last, hostT, hostC);
        }
        Upload<float>(hostT, thresholds);
        Upload<int>(hostC, cuts);
    }

    /// <inheritdoc />
    private protected override void ColumnTopKThresholdCore(Tensor<float> pre, Tensor<int> budgets, Tensor<float> thresholds, Tensor<int> cuts)
    {
        int f = (int)thresholds.Length;
        columnThreshold(Kernels.ColumnTopKThreshold.GpuConfig(f), V(pre), V(budgets), V(thresholds), V(cuts), (int)(pre.Length / f), f);
    }

    /// <summary>
    /// GPU matching pursuit: the residual starts as x; each of the k steps is the <see cref="Kernels.Encode"/> GEMM
    /// (residual · atomsᵀ, zero biases) into a [B, n] scratch and <see cref="Kernels.MatchingPursuit.GpuStepV1"/>; then
    /// counts are scanned into offsets and <see cref="Kernels.TopK.GpuCompactV1"/> writes the codes sorted by atom.
    /// </summary>
    private protected override void MatchingPursuitCore(Tensor<float> x, Tensor<float> atoms, int k, SparseCodes codes, Tensor<float> residual)
    {
        int b = codes.Rows, d = (int)(x.Length / b), n = (int)(atoms.Length / d);
        var corr = Scratch<float>("mp.corr", (long)b * n);
        var zeroD = Scratch<float>("mp.zeroD", d);
        var zeroN = Scratch<float>("mp.zeroN", n);
        var pIdx = Scratch<int>("mp.idx", (long)b * k);
        var pVal = Scratch<float>("mp.val", (long)b * k);
        var counts = Scratch<int>("mp.counts", b);
        (zeroD.SubView(0, d)).MemSetToZero();
        (zeroN.SubView(0, n)).MemSetToZero();
        counts.SubView(0, b).MemSetToZero();
        V(residual).CopyFrom(V(x));
        for (int step = 0; step < k; step++)
        {
            encode(Kernels.Encode.GpuConfig(b, n), V(residual), zeroD.SubView(0, d), V(atoms), zeroN.SubView(0, n), corr.SubView(0, (long)b * n), b, d, n);
            pursuitStep(Kernels.MatchingPursuit.GpuStepConfig(b), corr, V(atoms), V(residual), pIdx, pVal, counts, n, d, k);
        }
        scan(Kernels.ExclusiveScan.GpuConfig(), counts.SubView(0, b), V(codes.Offsets), b);
        topkCompact((int)((long)b * k), pIdx, pVal, counts, V(codes.Offsets), V(codes.Indices), V(codes.Values), k);
    }

    /// <inheritdoc />
    private protected override void SparseDecodeCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> output) =>
        decode((int)output.Length, V(codes.Offsets), V(codes.Indices), V(codes.Values), V(w), V(bias), V(output), (int)bias.Length);

    /// <inheritdoc />
    private protected override void ReconstructionErrorCore(Tensor<float> x, Tensor<float> xhat, float scale, Tensor<float> grad, Tensor<float> sse)
    {
        int b = (int)sse.Length;
        error(Kernels.ReconstructionError.GpuConfig(b), V(x), V(xhat), V(grad), V(sse), scale, (int)(x.Length / b));
    }

    /// <inheritdoc />
    private protected override void SparseDecodeGradCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, float scale,
        float shift, Tensor<float> xhat, Tensor<float> grad, Tensor<float> sse, Tensor<float> gValues)
    {
        SparseDecode(codes, w, bias, xhat);
        ReconstructionError(x, xhat, scale, grad, sse);
        ValueGrad(codes, grad, w, shift, gValues);
    }

    /// <inheritdoc />
    private protected override void ValueGradCore(SparseCodes codes, Tensor<float> gOut, Tensor<float> w, float shift, Tensor<float> gValues) =>
        valueGrad(Kernels.ValueGrad.GpuConfig(codes.Rows), V(codes.Offsets), V(codes.Indices), V(gOut), V(w), V(gValues),
            (int)(gOut.Length / codes.Rows), shift);

    /// <inheritdoc />
    private protected override void PrefixLossCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, Tensor<int> ends,
        Tensor<float> coefficients, SparseCodes groups, Tensor<float> gGroup, Tensor<float> gOut, Tensor<float> gValues, Tensor<float> sse)
    {
        prefixLoss(Kernels.PrefixLoss.GpuConfig(codes.Rows), V(codes.Offsets), V(codes.Indices), V(codes.Values), V(w), V(bias), V(x),
            V(ends), V(coefficients), V(groups.Offsets), V(gGroup), V(gOut), V(gValues), V(sse));
    }

    /// <inheritdoc />
    private protected override void AfaLossGradCore(SparseCodes codes, Tensor<float> targets, float coefficient, Tensor<float> gValues) =>
        afaLossGrad(Kernels.AfaLossGrad.GpuConfig(codes.Rows), V(codes.Offsets), V(codes.Values), V(targets), V(gValues), coefficient);

    /// <inheritdoc />
    private protected override void RowNormCore(Tensor<float> x, Tensor<float> center, Tensor<float> norms) =>
        rowNorm(Kernels.RowNorm.GpuConfig((int)norms.Length), V(x), V(center), V(norms), (int)center.Length);

    /// <inheritdoc />
    private protected override void ColumnMaxCore(Tensor<float> pre, Tensor<float> max) =>
        columnMax((int)max.Length, V(pre), V(max), (int)(pre.Length / max.Length));

    /// <inheritdoc />
    private protected override void AggregateByLatentCore(SparseCodes codes, Tensor<float> g, Tensor<float> v, Tensor<float> center,
        bool accumulate, Tensor<float> gW, Tensor<float> gSum, Tensor<int> counts)
    {
        int f = (int)gSum.Length, d = (int)center.Length, cap = (int)codes.Indices.Length;
        var start = Scratch<int>("agg.start", f + 1L);
        var cursor = Scratch<int>("agg.cursor", f);
        var entry = Scratch<int>("agg.entry", cap);
        var rowOf = Scratch<int>("agg.row", cap);
        V(counts).MemSetToZero();
        cursor.MemSetToZero();
        histogram(cap, V(codes.Offsets), V(codes.Indices), V(counts));
        scan(Kernels.ExclusiveScan.GpuConfig(), V(counts), start, f);
        fill(cap, V(codes.Offsets), V(codes.Indices), start, cursor, entry, rowOf);
        sortSegments(f, start, entry, rowOf);
        aggregate((int)gW.Length, start, entry, rowOf, V(g), V(v), V(center), V(gW), d, accumulate ? 1 : 0);
        aggregateBias(f, start, entry, V(g), V(gSum), accumulate ? 1 : 0);
    }

    /// <inheritdoc />
    private protected override void GradientScoreCore(Tensor<float> pre, Tensor<float> proj, float beta, Tensor<float> score) =>
        gradientScore((int)pre.Length, V(pre), V(proj), V(score), beta);

    /// <inheritdoc />
    private protected override void GatherCodesCore(SparseCodes codes, Tensor<float> pre)
    {
        gatherCodes(codes.Capacity, V(codes.Offsets), V(codes.Indices), V(pre), V(codes.Values), (int)(pre.Length / codes.Rows));
    }

    /// <inheritdoc />
    private protected override void AxpyCore(float alpha, Tensor<float> x, Tensor<float> y)
    {
        if (y.Length > 0) axpy((int)y.Length, V(x), V(y), alpha);
    }

    /// <inheritdoc />
    private protected override void MaskLatentsCore(Tensor<float> pre, Tensor<int> mask, Tensor<float> output) =>
        maskLatents((int)pre.Length, V(pre), V(mask), V(output));

    /// <inheritdoc />
    private protected override void JumpReluThresholdGradCore(Tensor<float> pre, Tensor<float> theta, Tensor<float> gOut, Tensor<float> wDec,
        float eps, float l0Weight, float tanhWeight, float tanhScale, Tensor<float> gTheta)
    {
        int f = (int)theta.Length, b = (int)(pre.Length / f);
        jumpReluThresholdGrad(Kernels.JumpReluThresholdGrad.GpuConfig(f), V(pre), V(theta), V(gOut), V(wDec), V(gTheta), b,
            (int)(gOut.Length / b), eps, l0Weight, tanhWeight, tanhScale);
    }

    /// <inheritdoc />
    private protected override void ScaleLatentsCore(SparseCodes codes, Tensor<float> scale, Tensor<float> center, Tensor<float> values) =>
        scaleLatents(codes.Capacity, V(codes.Offsets), V(codes.Indices), V(scale), V(center), V(values));

    /// <inheritdoc />
    private protected override void RowDotCore(Tensor<float> a, Tensor<float> b, Tensor<float> output) =>
        rowDot((int)output.Length, V(a), V(b), V(output), (int)(a.Length / output.Length));

    /// <inheritdoc />
    private protected override void ScaleColumnsCore(Tensor<float> input, Tensor<float> scale, Tensor<float> center, Tensor<float> output) =>
        scaleColumns((int)input.Length, V(input), V(scale), V(center), V(output), (int)scale.Length);

    /// <inheritdoc />
    private protected override void TanhPenaltyGradCore(SparseCodes codes, float weight, float scale, Tensor<float> gValues) =>
        tanhPenaltyGrad(codes.Capacity, V(codes.Offsets), V(codes.Values), V(gValues), weight, scale);

    /// <inheritdoc />
    private protected override void DecoderBiasGradCore(Tensor<float> gOut, Tensor<float> gbEnc, Tensor<float> wEnc, Tensor<float> gbDec)
    {
        int d = (int)gbDec.Length, b = (int)(gOut.Length / d), f = (int)gbEnc.Length;
        var partial = Scratch<float>("dbg.partial", (long)Kernels.DecoderBiasGrad.GpuSlices * d);
        decoderBias(Kernels.DecoderBiasGrad.GpuConfig(d), V(gOut), V(gbEnc), V(wEnc), partial, b, d, f);
        decoderBiasReduce(Kernels.DecoderBiasGrad.GpuReduceConfig(d), partial, V(gbDec), d);
    }

    /// <inheritdoc />
    private protected override void AdamCore(Tensor<float> grad, Adam.Step step, Tensor<float> param, Tensor<float> m, Tensor<float> v) =>
        adam((int)param.Length, V(grad), V(param), V(m), V(v), step);

    /// <inheritdoc />
    private protected override void RemoveParallelGradCore(Tensor<float> w, int d, bool parallelOnly, Tensor<float> g) =>
        removeParallel(Kernels.RemoveParallelGrad.GpuConfig((int)(w.Length / d)), V(w), V(g), d, parallelOnly ? 1 : 0);

    /// <inheritdoc />
    private protected override void NormalizeRowsCore(int d, Tensor<float> w) =>
        normalize(Kernels.NormalizeRows.GpuConfig((int)(w.Length / d)), V(w), d);

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var s in scratch.Values) ((IDisposable)s).Dispose();
        accelerator.Dispose();
        context.Dispose();
        base.Dispose();
    }

    // The tensor's view (every op validated ownership and lengths before its core runs).
    private static ArrayView<T> V<T>(Tensor<T> t) where T : unmanaged => ((GpuTensor<T>)t).View;

    private ArrayView<T> Scratch<T>(string name, long length) where T : unmanaged
    {
        if (scratch.TryGetValue(name, out var o) && ((MemoryBuffer1D<T, Stride1D.Dense>)o).Length >= length)
            return ((MemoryBuffer1D<T, Stride1D.Dense>)o).View.SubView(0, Math.Max(1, length));
        if (o is IDisposable old) old.Dispose();
        var buffer = accelerator.Allocate1D<T>(Math.Max(1, length));
        scratch[name] = buffer;
        return buffer.View;
    }
}
