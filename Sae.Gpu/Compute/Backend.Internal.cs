using SaeGpu.Compute;
using SaeGpu.Kernels;

namespace SaeGpu;

// The ops the library's training and evaluation use besides the public ones: validated like them, internal to SaeGpu.
public abstract partial class Backend
{
    /// <summary><see cref="Kernels.ExclusiveScan"/>: offsets [n+1] = running sums of counts [n], offsets[0] = 0.</summary>
    internal void ExclusiveScan(Tensor<int> counts, Tensor<int> offsets)
    {
        Own(counts, nameof(counts));
        Own(offsets, nameof(offsets));
        Shapes.Length(offsets.Length, counts.Length + 1, nameof(offsets), "[n + 1]");
        ExclusiveScanCore(counts, offsets);
    }

    /// <summary>
    /// <see cref="Kernels.ColumnTopKThreshold"/>: thresholds/cuts [F] selecting the budgets[j] largest positive entries of each
    /// column j of pre [B, F] (budgets [F]; a budget ≤ 0 selects none).
    /// </summary>
    internal void ColumnTopKThreshold(Tensor<float> pre, Tensor<int> budgets, Tensor<float> thresholds, Tensor<int> cuts)
    {
        OwnAll((pre, nameof(pre)), (thresholds, nameof(thresholds)));
        Own(budgets, nameof(budgets));
        Own(cuts, nameof(cuts));
        CheckColumnThresholds(pre.Length, 0, thresholds.Length, cuts.Length);
        Shapes.Length(budgets.Length, thresholds.Length, nameof(budgets), "[F]");
        ColumnTopKThresholdCore(pre, budgets, thresholds, cuts);
    }

    /// <summary><see cref="Kernels.ReconstructionError"/>: grad [B, d] = scale·(xhat − x), sse [B] = Σ_i (xhat − x)².</summary>
    internal void ReconstructionError(Tensor<float> x, Tensor<float> xhat, float scale, Tensor<float> grad, Tensor<float> sse)
    {
        OwnAll((x, nameof(x)), (xhat, nameof(xhat)), (grad, nameof(grad)), (sse, nameof(sse)));
        int b = Shapes.Positive(sse.Length, nameof(sse), "B");
        Shapes.Width(x.Length, b, nameof(x), "[B, d]");
        Shapes.Length(xhat.Length, x.Length, nameof(xhat), "[B, d]");
        Shapes.Length(grad.Length, x.Length, nameof(grad), "[B, d]");
        ReconstructionErrorCore(x, xhat, scale, grad, sse);
    }

    /// <summary><see cref="Kernels.ValueGrad"/>: gValues [capacity] = per entry ⟨gOut[row], w[latent]⟩ + shift, gOut [B, d], w [F, d].</summary>
    internal void ValueGrad(SparseCodes codes, Tensor<float> gOut, Tensor<float> w, float shift, Tensor<float> gValues)
    {
        OwnCodes(codes, nameof(codes));
        OwnAll((gOut, nameof(gOut)), (w, nameof(w)), (gValues, nameof(gValues)));
        int d = Shapes.Width(gOut.Length, codes.Rows, nameof(gOut), "[B, d]");
        CheckLatents(codes, Shapes.Rows(w.Length, d, nameof(w), "[F, d]"), nameof(codes));
        Shapes.AtLeast(gValues.Length, codes.Capacity, nameof(gValues), "the codes' capacity");
        ValueGradCore(codes, gOut, w, shift, gValues);
    }

    /// <summary>
    /// <see cref="Kernels.PrefixLoss"/>: for nested prefixes ending at ends [n] (ascending, last = F) with loss
    /// L = ½ Σ_b Σ_i coefficients[i]·‖e_{b,i}‖², e_{b,i} = bias + Σ_{j &lt; ends[i]} a_bj W[j] − x_b, writes sse [B·n],
    /// gGroup [B·n, d] (G_{b,g} = Σ_{i ≥ g} c_i e_{b,i}), gOut [B, d] = G_{b,0}, gValues [capacity] = ∂L/∂values and the offsets
    /// of <paramref name="groups"/> (a <see cref="SparseCodes.GroupView"/> of <paramref name="codes"/> with n groups), over
    /// which <c>Backend.AggregateByLatent</c> with v = gGroup gives ∂L/∂W.
    /// </summary>
    internal void PrefixLoss(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, Tensor<int> ends,
        Tensor<float> coefficients, SparseCodes groups, Tensor<float> gGroup, Tensor<float> gOut, Tensor<float> gValues, Tensor<float> sse)
    {
        OwnCodes(codes, nameof(codes));
        OwnCodes(groups, nameof(groups));
        OwnAll((w, nameof(w)), (bias, nameof(bias)), (x, nameof(x)), (coefficients, nameof(coefficients)), (gGroup, nameof(gGroup)),
            (gOut, nameof(gOut)), (gValues, nameof(gValues)), (sse, nameof(sse)));
        Own(ends, nameof(ends));
        int n = Shapes.Positive(ends.Length, nameof(ends), "the number of prefixes n");
        long b = codes.Rows;
        int d = Shapes.Positive(bias.Length, nameof(bias), "d");
        if (!ReferenceEquals(groups.Source, codes) || groups.Rows != b * n)
            throw new ArgumentException($"PrefixLoss needs codes.GroupView({n}); got codes of {groups.Rows} rows that are not a group view of these codes.", nameof(groups));
        CheckLatents(codes, Shapes.Rows(w.Length, d, nameof(w), "[F, d]"), nameof(codes));
        Shapes.Length(coefficients.Length, n, nameof(coefficients), "[n]");
        Shapes.Length(x.Length, b * d, nameof(x), "[B, d]");
        Shapes.Length(gOut.Length, b * d, nameof(gOut), "[B, d]");
        Shapes.Length(gGroup.Length, b * n * d, nameof(gGroup), "[B·n, d]");
        Shapes.Length(sse.Length, b * n, nameof(sse), "[B·n]");
        Shapes.AtLeast(gValues.Length, codes.Capacity, nameof(gValues), "the codes' capacity");
        PrefixLossCore(codes, w, bias, x, ends, coefficients, groups, gGroup, gOut, gValues, sse);
    }

    /// <summary><see cref="Kernels.AfaLossGrad"/>: gValues += coefficient·2/B·(‖a_b‖ − targets[b])·a/‖a_b‖ per row of the codes; targets [B].</summary>
    internal void AfaLossGrad(SparseCodes codes, Tensor<float> targets, float coefficient, Tensor<float> gValues)
    {
        OwnCodes(codes, nameof(codes));
        OwnAll((targets, nameof(targets)), (gValues, nameof(gValues)));
        Shapes.Length(targets.Length, codes.Rows, nameof(targets), "[B]");
        Shapes.AtLeast(gValues.Length, codes.Capacity, nameof(gValues), "the codes' capacity");
        AfaLossGradCore(codes, targets, coefficient, gValues);
    }

    /// <summary><see cref="Kernels.RowNorm"/>: norms [B] = ‖x[b] − center‖ for x [B, d], center [d].</summary>
    internal void RowNorm(Tensor<float> x, Tensor<float> center, Tensor<float> norms)
    {
        OwnAll((x, nameof(x)), (center, nameof(center)), (norms, nameof(norms)));
        int d = Shapes.Positive(center.Length, nameof(center), "d");
        int b = Shapes.Positive(norms.Length, nameof(norms), "B");
        Shapes.Length(x.Length, (long)b * d, nameof(x), "[B, d]");
        RowNormCore(x, center, norms);
    }

    /// <summary><see cref="Kernels.ColumnMax"/>: max [F] = max(0, max_b pre[b, j]) for pre [B, F].</summary>
    internal void ColumnMax(Tensor<float> pre, Tensor<float> max)
    {
        OwnAll((pre, nameof(pre)), (max, nameof(max)));
        int f = Shapes.Positive(max.Length, nameof(max), "F");
        Shapes.Rows(pre.Length, f, nameof(pre), "[B, F]");
        ColumnMaxCore(pre, max);
    }

    /// <summary><see cref="Kernels.GradientScore"/>: score [n] = max(pre, 0)·(1 + β·|proj|) (g-SAE's selection score) for pre, proj [n].</summary>
    internal void GradientScore(Tensor<float> pre, Tensor<float> proj, float beta, Tensor<float> score)
    {
        OwnAll((pre, nameof(pre)), (proj, nameof(proj)), (score, nameof(score)));
        Shapes.Length(proj.Length, pre.Length, nameof(proj), "pre's length");
        Shapes.Length(score.Length, pre.Length, nameof(score), "pre's length");
        GradientScoreCore(pre, proj, beta, score);
    }

    /// <summary><see cref="Kernels.GatherCodes"/>: each stored entry's value ← pre [B, F] at its (row, latent).</summary>
    internal void GatherCodes(SparseCodes codes, Tensor<float> pre)
    {
        OwnCodes(codes, nameof(codes));
        Own(pre, nameof(pre));
        CheckLatents(codes, Shapes.Width(pre.Length, codes.Rows, nameof(pre), "[B, F]"), nameof(codes));
        GatherCodesCore(codes, pre);
    }

    /// <summary><see cref="Kernels.Axpy"/>: y [n] += α·x [n].</summary>
    internal void Axpy(float alpha, Tensor<float> x, Tensor<float> y)
    {
        OwnAll((x, nameof(x)), (y, nameof(y)));
        Shapes.Length(y.Length, x.Length, nameof(y), "x's length");
        if (y.Length > 0) AxpyCore(alpha, x, y);
    }

    /// <summary><see cref="Kernels.MaskLatents"/>: output [B, F] = pre where mask[j] ≠ 0, else 0.</summary>
    internal void MaskLatents(Tensor<float> pre, Tensor<int> mask, Tensor<float> output)
    {
        OwnAll((pre, nameof(pre)), (output, nameof(output)));
        Own(mask, nameof(mask));
        int f = Shapes.Positive(mask.Length, nameof(mask), "F");
        Shapes.Rows(pre.Length, f, nameof(pre), "[B, F]");
        Shapes.Length(output.Length, pre.Length, nameof(output), "[B, F]");
        MaskLatentsCore(pre, mask, output);
    }

    /// <summary>
    /// <see cref="Kernels.JumpReluThresholdGrad"/>: gθ [F] by the straight-through estimator with bandwidth ε, for pre [B, F],
    /// θ [F], gOut [B, d], wDec [F, d], with the step penalty's weight and the tanh penalty's weight and scale.
    /// </summary>
    internal void JumpReluThresholdGrad(Tensor<float> pre, Tensor<float> theta, Tensor<float> gOut, Tensor<float> wDec,
        float eps, float l0Weight, float tanhWeight, float tanhScale, Tensor<float> gTheta)
    {
        OwnAll((pre, nameof(pre)), (theta, nameof(theta)), (gOut, nameof(gOut)), (wDec, nameof(wDec)), (gTheta, nameof(gTheta)));
        int f = Shapes.Positive(theta.Length, nameof(theta), "F");
        int b = Shapes.Rows(pre.Length, f, nameof(pre), "[B, F]");
        int d = Shapes.Width(gOut.Length, b, nameof(gOut), "[B, d]");
        Shapes.Length(wDec.Length, (long)f * d, nameof(wDec), "[F, d]");
        Shapes.Length(gTheta.Length, f, nameof(gTheta), "[F]");
        JumpReluThresholdGradCore(pre, theta, gOut, wDec, eps, l0Weight, tanhWeight, tanhScale, gTheta);
    }

    /// <summary><see cref="Kernels.ScaleLatents"/>: values[e] = scale[j]·(values[e] − center[j]) for each stored entry of the codes (j its latent).</summary>
    internal void ScaleLatents(SparseCodes codes, Tensor<float> scale, Tensor<float> center, Tensor<float> values)
    {
        OwnCodes(codes, nameof(codes));
        OwnAll((scale, nameof(scale)), (center, nameof(center)), (values, nameof(values)));
        int f = Shapes.Positive(scale.Length, nameof(scale), "F");
        CheckLatents(codes, f, nameof(codes));
        Shapes.Length(center.Length, f, nameof(center), "[F]");
        Shapes.AtLeast(values.Length, codes.Capacity, nameof(values), "the codes' capacity");
        ScaleLatentsCore(codes, scale, center, values);
    }

    /// <summary><see cref="Kernels.RowDot"/>: output [n] = per row ⟨a[j], b[j]⟩ for a, b [n, d].</summary>
    internal void RowDot(Tensor<float> a, Tensor<float> b, Tensor<float> output)
    {
        OwnAll((a, nameof(a)), (b, nameof(b)), (output, nameof(output)));
        int n = Shapes.Positive(output.Length, nameof(output), "n");
        Shapes.Width(a.Length, n, nameof(a), "[n, d]");
        Shapes.Length(b.Length, a.Length, nameof(b), "[n, d]");
        RowDotCore(a, b, output);
    }

    /// <summary><see cref="Kernels.ScaleColumns"/>: output [B, F] = scale[j]·(input[b, j] − center[j]).</summary>
    internal void ScaleColumns(Tensor<float> input, Tensor<float> scale, Tensor<float> center, Tensor<float> output)
    {
        OwnAll((input, nameof(input)), (scale, nameof(scale)), (center, nameof(center)), (output, nameof(output)));
        int f = Shapes.Positive(scale.Length, nameof(scale), "F");
        Shapes.Rows(input.Length, f, nameof(input), "[B, F]");
        Shapes.Length(center.Length, f, nameof(center), "[F]");
        Shapes.Length(output.Length, input.Length, nameof(output), "[B, F]");
        ScaleColumnsCore(input, scale, center, output);
    }

    /// <summary><see cref="Kernels.TanhPenaltyGrad"/>: gValues[e] += weight·c·(1 − tanh²(c·values[e])) for each stored entry e of the codes.</summary>
    internal void TanhPenaltyGrad(SparseCodes codes, float weight, float scale, Tensor<float> gValues)
    {
        OwnCodes(codes, nameof(codes));
        Own(gValues, nameof(gValues));
        Shapes.AtLeast(gValues.Length, codes.Capacity, nameof(gValues), "the codes' capacity");
        TanhPenaltyGradCore(codes, weight, scale, gValues);
    }

    /// <summary><see cref="Kernels.DecoderBiasGrad"/>: gbDec [d] = Σ_b gOut [B, d] − gbEncᵀ [F] · W_enc [F, d].</summary>
    internal void DecoderBiasGrad(Tensor<float> gOut, Tensor<float> gbEnc, Tensor<float> wEnc, Tensor<float> gbDec)
    {
        OwnAll((gOut, nameof(gOut)), (gbEnc, nameof(gbEnc)), (wEnc, nameof(wEnc)), (gbDec, nameof(gbDec)));
        int d = Shapes.Positive(gbDec.Length, nameof(gbDec), "d");
        int f = Shapes.Positive(gbEnc.Length, nameof(gbEnc), "F");
        Shapes.Rows(gOut.Length, d, nameof(gOut), "[B, d]");
        Shapes.Length(wEnc.Length, (long)f * d, nameof(wEnc), "[F, d]");
        DecoderBiasGradCore(gOut, gbEnc, wEnc, gbDec);
    }

    /// <summary>
    /// <see cref="Kernels.RemoveParallelGrad"/>: g[j] −= (⟨g[j], w[j]⟩/‖w[j]‖²)·w[j] for rows of w, g [F, d]; with
    /// <paramref name="parallelOnly"/> g[j] keeps only that parallel component.
    /// </summary>
    internal void RemoveParallelGrad(Tensor<float> w, int d, bool parallelOnly, Tensor<float> g)
    {
        OwnAll((w, nameof(w)), (g, nameof(g)));
        Shapes.Rows(w.Length, d, nameof(w), "[F, d]");
        Shapes.Length(g.Length, w.Length, nameof(g), "[F, d]");
        RemoveParallelGradCore(w, d, parallelOnly, g);
    }

    /// <summary><see cref="Kernels.NormalizeRows"/>: w[j] ← w[j]/‖w[j]‖ for rows of w [F, d].</summary>
    internal void NormalizeRows(int d, Tensor<float> w)
    {
        Own(w, nameof(w));
        Shapes.Rows(w.Length, d, nameof(w), "[F, d]");
        NormalizeRowsCore(d, w);
    }


    private protected abstract void ExclusiveScanCore(Tensor<int> counts, Tensor<int> offsets);
    private protected abstract void EncodeCore(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<float> pre);
    private protected abstract void TopKCore(Tensor<float> pre, int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes);
    private protected abstract void EncodeTopKCore(Tensor<float> x, Tensor<float> bDec, Tensor<float> wEnc, Tensor<float> bEnc, Tensor<int>? mask,
        int k, bool absolute, Tensor<float>? targetNorms, SparseCodes codes);
    private protected abstract void ThresholdSelectCore(Tensor<float> pre, Tensor<float> thresholds, Tensor<int> cuts, SparseCodes codes);
    private protected abstract void BatchTopKThresholdCore(Tensor<float> pre, int m, Tensor<float> thresholds, Tensor<int> cuts);
    private protected abstract void ColumnTopKThresholdCore(Tensor<float> pre, Tensor<int> budgets, Tensor<float> thresholds, Tensor<int> cuts);
    private protected abstract void MatchingPursuitCore(Tensor<float> x, Tensor<float> atoms, int k, SparseCodes codes, Tensor<float> residual);
    private protected abstract void SparseDecodeCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> output);
    private protected abstract void ReconstructionErrorCore(Tensor<float> x, Tensor<float> xhat, float scale, Tensor<float> grad, Tensor<float> sse);
    private protected abstract void SparseDecodeGradCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, float scale,
        float shift, Tensor<float> xhat, Tensor<float> grad, Tensor<float> sse, Tensor<float> gValues);
    private protected abstract void ValueGradCore(SparseCodes codes, Tensor<float> gOut, Tensor<float> w, float shift, Tensor<float> gValues);
    private protected abstract void PrefixLossCore(SparseCodes codes, Tensor<float> w, Tensor<float> bias, Tensor<float> x, Tensor<int> ends,
        Tensor<float> coefficients, SparseCodes groups, Tensor<float> gGroup, Tensor<float> gOut, Tensor<float> gValues, Tensor<float> sse);
    private protected abstract void AfaLossGradCore(SparseCodes codes, Tensor<float> targets, float coefficient, Tensor<float> gValues);
    private protected abstract void RowNormCore(Tensor<float> x, Tensor<float> center, Tensor<float> norms);
    private protected abstract void ColumnMaxCore(Tensor<float> pre, Tensor<float> max);
    private protected abstract void AggregateByLatentCore(SparseCodes codes, Tensor<float> g, Tensor<float> v, Tensor<float> center,
        bool accumulate, Tensor<float> gW, Tensor<float> gSum, Tensor<int> counts);
    private protected abstract void GradientScoreCore(Tensor<float> pre, Tensor<float> proj, float beta, Tensor<float> score);
    private protected abstract void GatherCodesCore(SparseCodes codes, Tensor<float> pre);
    private protected abstract void AxpyCore(float alpha, Tensor<float> x, Tensor<float> y);
    private protected abstract void MaskLatentsCore(Tensor<float> pre, Tensor<int> mask, Tensor<float> output);
    private protected abstract void JumpReluThresholdGradCore(Tensor<float> pre, Tensor<float> theta, Tensor<float> gOut, Tensor<float> wDec,
        float eps, float l0Weight, float tanhWeight, float tanhScale, Tensor<float> gTheta);
    private protected abstract void ScaleLatentsCore(SparseCodes codes, Tensor<float> scale, Tensor<float> center, Tensor<float> values);
    private protected abstract void RowDotCore(Tensor<float> a, Tensor<float> b, Tensor<float> output);
    private protected abstract void ScaleColumnsCore(Tensor<float> input, Tensor<float> scale, Tensor<float> center, Tensor<float> output);
    private protected abstract void TanhPenaltyGradCore(SparseCodes codes, float weight, float scale, Tensor<float> gValues);
    private protected abstract void DecoderBiasGradCore(Tensor<float> gOut, Tensor<float> gbEnc, Tensor<float> wEnc, Tensor<float> gbDec);
    private protected abstract void AdamCore(Tensor<float> grad, Adam.Step step, Tensor<float> param, Tensor<float> m, Tensor<float> v);
    private protected abstract void RemoveParallelGradCore(Tensor<float> w, int d, bool parallelOnly, Tensor<float> g);
    private protected abstract void NormalizeRowsCore(int d, Tensor<float> w);
}
