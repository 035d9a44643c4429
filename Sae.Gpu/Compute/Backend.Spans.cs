using SaeGpu.Compute;

namespace SaeGpu;

// The public ops on host memory: the same validation as the tensor ops, then the arguments are staged through tensors of
// this backend (copies on every backend; device transfers on a GPU) and the outputs copied back.
public abstract partial class Backend
{
    /// <summary>
    /// <see cref="Encode(Tensor{float}, Tensor{float}, Tensor{float}, Tensor{float}, Tensor{float})"/> on host memory:
    /// pre [B, F] = (x [B, d] − bDec [d])·wEncᵀ [F, d] + bEnc [F].
    /// </summary>
    public void Encode(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc, Span<float> pre)
    {
        CheckEncode(x.Length, bDec.Length, wEnc.Length, bEnc.Length, pre.Length);
        using var tx = FromHost(x);
        using var tb = FromHost(bDec);
        using var tw = FromHost(wEnc);
        using var te = FromHost(bEnc);
        using var tp = Allocate<float>(pre.Length);
        EncodeCore(tx, tb, tw, te, tp);
        DownloadCore(tp, pre);
    }

    /// <summary>
    /// <see cref="TopK(Tensor{float}, int, bool, Tensor{float}?, SparseCodes)"/> on host memory: per row of pre [B, F]
    /// (F = <paramref name="latents"/>), the k largest positive pre (|pre| with signs when <paramref name="absolute"/>) into
    /// <paramref name="codes"/> (overwritten).
    /// </summary>
    public void TopK(ReadOnlySpan<float> pre, int latents, int k, bool absolute, SparseBatch codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        int b = Shapes.Rows(pre.Length, latents, nameof(pre), "[B, F]");
        CheckTopK(pre.Length, b, k, (long)b * k, null);
        using var tp = FromHost(pre);
        using var out_ = new SparseCodes(this, b, (long)b * k);
        TopKCore(tp, k, absolute, null, out_);
        codes.CopyFrom(out_);
    }

    /// <summary>
    /// <see cref="EncodeTopK(Tensor{float}, Tensor{float}, Tensor{float}, Tensor{float}, Tensor{int}?, int, bool, Tensor{float}?, SparseCodes)"/>
    /// on host memory: the k largest pre of each row of x [B, d] (|pre| with signs when <paramref name="absolute"/>) for
    /// bDec [d], wEnc [F, d], bEnc [F], into <paramref name="codes"/> (overwritten), without a [B, F] matrix on the CPU path.
    /// </summary>
    public void EncodeTopK(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc,
        int k, bool absolute, SparseBatch codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        int b = CheckEncode(x.Length, bDec.Length, wEnc.Length, bEnc.Length, null);
        CheckTopK((long)b * bEnc.Length, b, k, (long)b * k, null);
        using var tx = FromHost(x);
        using var tb = FromHost(bDec);
        using var tw = FromHost(wEnc);
        using var te = FromHost(bEnc);
        using var out_ = new SparseCodes(this, b, (long)b * k);
        EncodeTopKCore(tx, tb, tw, te, null, k, absolute, null, out_);
        codes.CopyFrom(out_);
    }

    /// <summary>
    /// <see cref="ThresholdSelect(Tensor{float}, Tensor{float}, Tensor{int}, SparseCodes)"/> on host memory: every (b, j) of
    /// pre [B, F] with pre &gt; 0 and (pre &gt; thresholds[j], or pre = thresholds[j] and b ≤ cuts[j]) into
    /// <paramref name="codes"/> (overwritten).
    /// </summary>
    public void ThresholdSelect(ReadOnlySpan<float> pre, ReadOnlySpan<float> thresholds, ReadOnlySpan<int> cuts, SparseBatch codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        int f = CheckThresholdSelect(pre.Length, thresholds.Length, cuts.Length, rows: null);
        int b = pre.Length / f;
        using var tp = FromHost(pre);
        using var tt = FromHost(thresholds);
        using var tc = FromHost(cuts);
        using var out_ = new SparseCodes(this, b, (long)b * f);
        ThresholdSelectCore(tp, tt, tc, out_);
        codes.CopyFrom(out_);
    }

    /// <summary>
    /// <see cref="BatchTopKThreshold(Tensor{float}, int, Tensor{float}, Tensor{int})"/> on host memory: thresholds and cuts [F]
    /// that keep the m largest positive entries of pre [B, F].
    /// </summary>
    public void BatchTopKThreshold(ReadOnlySpan<float> pre, int m, Span<float> thresholds, Span<int> cuts)
    {
        CheckColumnThresholds(pre.Length, m, thresholds.Length, cuts.Length);
        using var tp = FromHost(pre);
        using var tt = Allocate<float>(thresholds.Length);
        using var tc = Allocate<int>(cuts.Length);
        BatchTopKThresholdCore(tp, m, tt, tc);
        DownloadCore(tt, thresholds);
        DownloadCore(tc, cuts);
    }

    /// <summary>
    /// <see cref="MatchingPursuit(Tensor{float}, Tensor{float}, int, SparseCodes, Tensor{float})"/> on host memory: k steps per
    /// row of x [B, d] over unit atoms [n, d] (d = <paramref name="inputDim"/>) into <paramref name="codes"/> (overwritten)
    /// and residual [B, d].
    /// </summary>
    public void MatchingPursuit(ReadOnlySpan<float> x, int inputDim, ReadOnlySpan<float> atoms, int k, SparseBatch codes, Span<float> residual)
    {
        ArgumentNullException.ThrowIfNull(codes);
        int b = Shapes.Rows(x.Length, inputDim, nameof(x), "[B, d]");
        CheckPursuit(x.Length, atoms.Length, k, b, (long)b * k, residual.Length);
        using var tx = FromHost(x);
        using var ta = FromHost(atoms);
        using var tr = Allocate<float>(residual.Length);
        using var out_ = new SparseCodes(this, b, (long)b * k);
        MatchingPursuitCore(tx, ta, k, out_, tr);
        codes.CopyFrom(out_);
        DownloadCore(tr, residual);
    }

    /// <summary><see cref="SparseDecode(SparseCodes, Tensor{float}, Tensor{float}, Tensor{float})"/> on host memory: output [B, d] = bias [d] + codes·w [F, d].</summary>
    public void SparseDecode(SparseBatch codes, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> output)
    {
        CheckCodes(codes, nameof(codes));
        CheckCodeLatents(codes, CheckDecode(codes.Rows, w.Length, bias.Length, output.Length), nameof(codes));
        using var tc = Stage(codes);
        using var tw = FromHost(w);
        using var tb = FromHost(bias);
        using var to = Allocate<float>(output.Length);
        SparseDecodeCore(tc, tw, tb, to);
        DownloadCore(to, output);
    }

    /// <summary>
    /// <see cref="SparseDecodeGrad(SparseCodes, Tensor{float}, Tensor{float}, Tensor{float}, float, float, Tensor{float}, Tensor{float}, Tensor{float}, Tensor{float})"/>
    /// on host memory: xhat, grad [B, d], sse [B] and the value gradients gValues [nnz] of <paramref name="codes"/>.
    /// </summary>
    public void SparseDecodeGrad(SparseBatch codes, ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, float scale,
        float shift, Span<float> xhat, Span<float> grad, Span<float> sse, Span<float> gValues)
    {
        CheckCodes(codes, nameof(codes));
        int f = CheckDecodeGrad(codes.Rows, codes.Count, exact: true, w.Length, bias.Length, x.Length, xhat.Length, grad.Length,
            sse.Length, gValues.Length);
        CheckCodeLatents(codes, f, nameof(codes));
        using var tc = Stage(codes);
        using var tw = FromHost(w);
        using var tb = FromHost(bias);
        using var tx = FromHost(x);
        using var th = Allocate<float>(x.Length);
        using var tg = Allocate<float>(x.Length);
        using var ts = Allocate<float>(codes.Rows);
        using var tv = Allocate<float>(tc.Capacity);
        SparseDecodeGradCore(tc, tw, tb, tx, scale, shift, th, tg, ts, tv);
        DownloadCore(th, xhat);
        DownloadCore(tg, grad);
        DownloadCore(ts, sse);
        if (codes.Count > 0) DownloadCore(tv, gValues, 0);
    }

    /// <summary>
    /// <see cref="AggregateByLatent(SparseCodes, Tensor{float}, Tensor{float}, Tensor{float}, bool, Tensor{float}, Tensor{float}, Tensor{int})"/>
    /// on host memory: per latent j of F = gSum's length, gW[j] (+)= Σ over its entries of g[entry]·(v[row] − center),
    /// gSum[j] (+)= Σ g[entry], counts[j] = its entries; g [nnz], v [B, d'], center [d'], gW [F, d'].
    /// </summary>
    public void AggregateByLatent(SparseBatch codes, ReadOnlySpan<float> g, ReadOnlySpan<float> v, ReadOnlySpan<float> center,
        bool accumulate, Span<float> gW, Span<float> gSum, Span<int> counts)
    {
        CheckCodes(codes, nameof(codes));
        int f = CheckAggregate(codes.Rows, codes.Count, exact: true, g.Length, v.Length, center.Length, gW.Length, gSum.Length, counts.Length);
        CheckCodeLatents(codes, f, nameof(codes));
        using var tc = Stage(codes);
        using var tg = Allocate<float>(tc.Capacity);
        UploadCore(g, tg, 0);
        using var tv = FromHost(v);
        using var tcen = FromHost(center);
        using var tw = FromHost<float>(gW);
        using var ts = FromHost<float>(gSum);
        using var tn = Allocate<int>(f);
        AggregateByLatentCore(tc, tg, tv, tcen, accumulate, tw, ts, tn);
        DownloadCore(tw, gW);
        DownloadCore(ts, gSum);
        DownloadCore(tn, counts);
    }

    /// <summary>
    /// <see cref="Adam(Tensor{float}, Tensor{float}, Tensor{float}, Tensor{float}, float, float, float, float, int)"/> on host
    /// memory: one in-place step on param, m, v [n] from grad [n].
    /// </summary>
    public void Adam(ReadOnlySpan<float> grad, Span<float> param, Span<float> m, Span<float> v, float learningRate, float beta1,
        float beta2, float epsilon, int step)
    {
        var hyper = AdamStep(learningRate, beta1, beta2, epsilon, step);
        CheckAdam(grad.Length, param.Length, m.Length, v.Length);
        using var tg = FromHost(grad);
        using var tp = FromHost<float>(param);
        using var tm = FromHost<float>(m);
        using var tv = FromHost<float>(v);
        AdamCore(tg, hyper, tp, tm, tv);
        DownloadCore(tp, param);
        DownloadCore(tm, m);
        DownloadCore(tv, v);
    }

    private static void CheckCodes(SparseBatch codes, string name)
    {
        ArgumentNullException.ThrowIfNull(codes, name);
        if (codes.Rows < 1) throw new ArgumentException($"{name} hold no rows.", name);
    }

    private static void CheckCodeLatents(SparseBatch codes, int latents, string name) =>
        CheckLatentBound(SparseBatch.LatentBoundOf(codes.Indices), latents, name);

    // Device codes holding `codes` (checked by the caller).
    private SparseCodes Stage(SparseBatch codes)
    {
        var device = new SparseCodes(this, codes.Rows, Math.Max(1, codes.Count));
        codes.CopyTo(device);
        return device;
    }
}
