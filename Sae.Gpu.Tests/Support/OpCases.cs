using SaeGpu.Compute;
using SaeGpu.Kernels;

namespace SaeGpu.Tests.Support;

/// <summary>A generated problem: batch rows B, width d, latents F, per-row k, and the seed of its values.</summary>
public sealed record Shape(int B, int D, int F, int K, int Seed)
{
    /// <summary>Values in [−2, 2]: 30% from {−1, −½, 0, ½, 1} (ties and zeros), the rest uniform.</summary>
    public float[] Values(int n, int salt)
    {
        var rng = new Random(Seed * 31 + salt);
        var a = new float[n];
        float[] discrete = [-1f, -0.5f, 0f, 0.5f, 1f];
        for (int i = 0; i < n; i++) a[i] = rng.NextDouble() < 0.3 ? discrete[rng.Next(discrete.Length)] : (float)(rng.NextDouble() * 4 - 2);
        return a;
    }

    /// <summary>Random CSR codes: row b holds 0..k distinct latents in ascending order, stored padded to capacity B·k.</summary>
    public (int[] Offsets, int[] Indices, float[] Values) Codes(int salt)
    {
        var rng = new Random(Seed * 17 + salt);
        var offsets = new int[B + 1];
        var idx = new int[B * K];
        var val = Values(B * K, salt + 1);
        int pos = 0;
        for (int r = 0; r < B; r++)
        {
            int c = rng.Next(Math.Min(K, F) + 1);
            foreach (int j in Enumerable.Range(0, F).OrderBy(_ => rng.Next()).Take(c).Order()) idx[pos++] = j;
            offsets[r + 1] = pos;
        }
        return (offsets, idx, val);
    }
}

/// <summary>Runs each op on a backend with generated inputs, outputs poisoned first (NaN / int.MinValue), results on the host.</summary>
public static class OpCases
{
    /// <summary>offsets [n+1] (as floats) of counts [n = B·F] in 0..4.</summary>
    public static float[][] ExclusiveScan(Backend be, Shape s)
    {
        var rng = new Random(s.Seed);
        using var counts = be.FromHost<int>(Enumerable.Range(0, s.B * s.F).Select(_ => rng.Next(5)).ToArray());
        using var offsets = be.FromHost<int>(Enumerable.Repeat(int.MinValue, s.B * s.F + 1).ToArray());
        be.ExclusiveScan(counts, offsets);
        return [[.. be.ToHost(offsets).Select(o => (float)o)]];
    }

    /// <summary>pre [B, F].</summary>
    public static float[][] Encode(Backend be, Shape s)
    {
        using var x = be.FromHost<float>(s.Values(s.B * s.D, 1));
        using var bDec = be.FromHost<float>(s.Values(s.D, 2));
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 3));
        using var bEnc = be.FromHost<float>(s.Values(s.F, 4));
        using var pre = Poisoned(be, s.B * s.F);
        be.Encode(x, bDec, w, bEnc, pre);
        return [be.ToHost(pre)];
    }

    /// <summary>offsets, indices, values (as floats) of TopK on generated pre [B, F].</summary>
    public static float[][] TopK(Backend be, Shape s) => TopK(be, s, absolute: false);

    /// <summary>AbsTopK: the same op selecting by |pre|, values signed.</summary>
    public static float[][] AbsTopK(Backend be, Shape s) => TopK(be, s, absolute: true);

    private static float[][] TopK(Backend be, Shape s, bool absolute)
    {
        using var pre = be.FromHost<float>(s.Values(s.B * s.F, 5));
        using var codes = PoisonedCodes(be, s, (long)s.B * s.K);
        be.TopK(pre, s.K, absolute, null, codes);
        var (o, i, v) = codes.ToHost();
        return [[.. o.Select(a => (float)a)], [.. i.Select(a => (float)a)], v];
    }

    /// <summary>
    /// Codes of <see cref="Backend.EncodeTopK"/> (fused) on generated x, b_dec, W_enc, b_enc; the seed picks TopK or AbsTopK,
    /// with or without a random latent mask and top-AFA targets (<see cref="EncodeThenTopK"/> computes the same unfused).
    /// </summary>
    public static float[][] EncodeTopK(Backend be, Shape s) => EncodeSelect(be, s, fused: true);

    /// <summary>The same codes as <see cref="EncodeTopK"/> by Encode, MaskLatents and TopK with pre [B, F] in between.</summary>
    public static float[][] EncodeThenTopK(Backend be, Shape s) => EncodeSelect(be, s, fused: false);

    private static float[][] EncodeSelect(Backend be, Shape s, bool fused)
    {
        bool absolute = s.Seed % 2 == 1, masked = s.Seed / 2 % 2 == 1, afa = s.Seed / 4 % 2 == 1;
        var rng = new Random(s.Seed + 5);
        using var x = be.FromHost<float>(s.Values(s.B * s.D, 1));
        using var bDec = be.FromHost<float>(s.Values(s.D, 2));
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 3));
        using var bEnc = be.FromHost<float>(s.Values(s.F, 4));
        using var mask = masked ? be.FromHost<int>([.. Enumerable.Range(0, s.F).Select(_ => rng.Next(3) == 0 ? 1 : 0)]) : null;
        using var targets = afa ? be.FromHost<float>([.. s.Values(s.B, 6).Select(v => 2 * MathF.Abs(v))]) : null;
        using var codes = PoisonedCodes(be, s, (long)s.B * s.K);
        if (fused) be.EncodeTopK(x, bDec, w, bEnc, mask, s.K, absolute, targets, codes);
        else
        {
            using var pre = Poisoned(be, s.B * s.F);
            be.Encode(x, bDec, w, bEnc, pre);
            if (mask is not null) be.MaskLatents(pre, mask, pre);
            be.TopK(pre, s.K, absolute, targets, codes);
        }
        var (o, i, v) = codes.ToHost();
        return [[.. o.Select(a => (float)a)], [.. i.Select(a => (float)a)], v[..o[s.B]]];
    }

    /// <summary>Codes of ThresholdSelect with generated thresholds in {0, ½, 1, random} and cuts in [−1, B].</summary>
    public static float[][] ThresholdSelect(Backend be, Shape s)
    {
        var rng = new Random(s.Seed + 3);
        var t = s.Values(s.F, 28).Select(v => MathF.Abs(v) * (rng.Next(3) == 0 ? 0 : 1)).ToArray();
        var c = Enumerable.Range(0, s.F).Select(_ => rng.Next(-1, s.B + 1)).ToArray();
        using var thresholds = be.FromHost<float>(t);
        using var cuts = be.FromHost<int>(c);
        return Select(be, s, (pre, codes) => be.ThresholdSelect(pre, thresholds, cuts, codes));
    }

    /// <summary>
    /// BatchTopK: codes of the k·B largest positive entries of the batch (threshold op then ThresholdSelect; the thresholds
    /// themselves are not unique — any pair that selects the same entries is right).
    /// </summary>
    public static float[][] BatchTopK(Backend be, Shape s) => ThresholdCase(be, s, (pre, thresholds, cuts) => be.BatchTopKThreshold(pre, s.K * s.B, thresholds, cuts))[..3];

    /// <summary>
    /// Feature Choice: codes of each latent's top-m_j tokens, then the thresholds and cuts (threshold op then ThresholdSelect);
    /// m_j = K for every fourth latent, else drawn from [−1, B + 1] (no token, fewer than B, all B, more than B).
    /// </summary>
    public static float[][] FeatureChoice(Backend be, Shape s)
    {
        var rng = new Random(s.Seed * 13 + 7);
        using var budgets = be.FromHost<int>(Enumerable.Range(0, s.F).Select(j => j % 4 == 0 ? s.K : rng.Next(-1, s.B + 2)).ToArray());
        return ThresholdCase(be, s, (pre, thresholds, cuts) => be.ColumnTopKThreshold(pre, budgets, thresholds, cuts));
    }

    // A threshold op on pre [B, F], then ThresholdSelect: the codes, the thresholds and the cuts.
    private static float[][] ThresholdCase(Backend be, Shape s, Action<Tensor<float>, Tensor<float>, Tensor<int>> thresholdOp)
    {
        using var thresholds = be.Allocate<float>(s.F);
        using var cuts = be.Allocate<int>(s.F);
        var codes = Select(be, s, (pre, codes) =>
        {
            thresholdOp(pre, thresholds, cuts);
            be.ThresholdSelect(pre, thresholds, cuts, codes);
        });
        return [.. codes, be.ToHost(thresholds), [.. be.ToHost(cuts).Select(c => (float)c)]];
    }

    private static float[][] Select(Backend be, Shape s, Action<Tensor<float>, SparseCodes> select)
    {
        using var pre = be.FromHost<float>(s.Values(s.B * s.F, 5));
        using var codes = PoisonedCodes(be, s, (long)s.B * Math.Max(s.F, s.K));
        select(pre, codes);
        var (o, i, v) = codes.ToHost();
        return [[.. o.Select(a => (float)a)], [.. i.Select(a => (float)a)], v];
    }

    /// <summary>
    /// Smallest reference margin (relative to ‖x_row‖, see <see cref="SaeGpu.Kernels.MatchingPursuit.Reference"/>) of the
    /// pursuit steps <see cref="MatchingPursuit"/> compares: ~100× the float32 correlations' typical rounding error
    /// (ε·(√d + steps)·‖x_row‖); below it rounding may decide a pick.
    /// </summary>
    public const double PursuitMargin = 1e-4;

    /// <summary>Generated x [B, d] and unit atoms [F, d] (a zero row becomes a unit coordinate vector).</summary>
    public static (float[] X, float[] Atoms) PursuitInputs(Shape s)
    {
        var atoms = s.Values(s.F * s.D, 44);
        for (int j = 0; j < s.F; j++)
        {
            var row = atoms.AsSpan(j * s.D, s.D);
            double norm = Math.Sqrt(row.ToArray().Sum(v => (double)v * v));
            if (norm == 0) { row[j % s.D] = 1; continue; }
            for (int i = 0; i < s.D; i++) row[i] = (float)(row[i] / norm);
        }
        return (s.Values(s.B * s.D, 45), atoms);
    }

    /// <summary>
    /// Steps of the pursuit the properties compare: the largest k ≤ K whose reference margin over its k steps is at least
    /// <see cref="PursuitMargin"/> (0 when the first pick is already a near-tie). Later picks are made on residuals at
    /// rounding level, where float32 and the float64 oracle pick different atoms.
    /// </summary>
    public static int DecisiveSteps(Shape s)
    {
        var (x, atoms) = PursuitInputs(s);
        int k = s.K;
        while (k > 0 && SaeGpu.Kernels.MatchingPursuit.Reference(x, atoms, k, new int[s.B + 1], new int[s.B * k],
                   new float[s.B * k], new float[s.B * s.D]) < PursuitMargin)
            k--;
        return k;
    }

    /// <summary>
    /// offsets, indices (as floats), values and residual of matching pursuit with k = <see cref="DecisiveSteps"/>; no outputs
    /// when that is 0.
    /// </summary>
    public static float[][] MatchingPursuit(Backend be, Shape s)
    {
        int k = DecisiveSteps(s);
        if (k == 0) return [];
        var (xh, ah) = PursuitInputs(s);
        using var x = be.FromHost<float>(xh);
        using var atoms = be.FromHost<float>(ah);
        using var codes = PoisonedCodes(be, s, (long)s.B * k);
        using var residual = Poisoned(be, s.B * s.D);
        be.MatchingPursuit(x, atoms, k, codes, residual);
        var (o, i, v) = codes.ToHost();
        return [[.. o.Select(a => (float)a)], [.. i.Select(a => (float)a)], v, be.ToHost(residual)];
    }

    /// <summary>x̂ [B, d] from generated codes.</summary>
    public static float[][] SparseDecode(Backend be, Shape s)
    {
        using var codes = Upload(be, s, s.Codes(6));
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 7));
        using var bias = be.FromHost<float>(s.Values(s.D, 8));
        using var output = Poisoned(be, s.B * s.D);
        be.SparseDecode(codes, w, bias, output);
        return [be.ToHost(output)];
    }

    /// <summary>x̂, grad, sse and gValues [nnz] of <see cref="Backend.SparseDecodeGrad"/> on generated codes (fused).</summary>
    public static float[][] SparseDecodeGrad(Backend be, Shape s) => DecodeGrad(be, s, fused: true);

    /// <summary>The same outputs by SparseDecode, ReconstructionError and ValueGrad in turn.</summary>
    public static float[][] DecodeThenGrad(Backend be, Shape s) => DecodeGrad(be, s, fused: false);

    private static float[][] DecodeGrad(Backend be, Shape s, bool fused)
    {
        var host = s.Codes(46);
        float scale = 0.37f, shift = s.Seed % 3 * 0.25f;
        using var codes = Upload(be, s, host);
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 47));
        using var bias = be.FromHost<float>(s.Values(s.D, 48));
        using var x = be.FromHost<float>(s.Values(s.B * s.D, 49));
        using var xhat = Poisoned(be, s.B * s.D);
        using var grad = Poisoned(be, s.B * s.D);
        using var sse = Poisoned(be, s.B);
        using var gv = Poisoned(be, s.B * s.K);
        if (fused) be.SparseDecodeGrad(codes, w, bias, x, scale, shift, xhat, grad, sse, gv);
        else
        {
            be.SparseDecode(codes, w, bias, xhat);
            be.ReconstructionError(x, xhat, scale, grad, sse);
            be.ValueGrad(codes, grad, w, shift, gv);
        }
        return [be.ToHost(xhat), be.ToHost(grad), be.ToHost(sse), be.ToHost(gv)[..host.Offsets[s.B]]];
    }

    /// <summary>grad [B, d] and sse [B].</summary>
    public static float[][] ReconstructionError(Backend be, Shape s)
    {
        using var x = be.FromHost<float>(s.Values(s.B * s.D, 9));
        using var xhat = be.FromHost<float>(s.Values(s.B * s.D, 10));
        using var grad = Poisoned(be, s.B * s.D);
        using var sse = Poisoned(be, s.B);
        be.ReconstructionError(x, xhat, 0.37f, grad, sse);
        return [be.ToHost(grad), be.ToHost(sse)];
    }

    /// <summary>gValues [nnz].</summary>
    public static float[][] ValueGrad(Backend be, Shape s)
    {
        var host = s.Codes(11);
        using var codes = Upload(be, s, host);
        using var gOut = be.FromHost<float>(s.Values(s.B * s.D, 12));
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 13));
        using var gv = Poisoned(be, s.B * s.K);
        be.ValueGrad(codes, gOut, w, s.Seed % 3 * 0.25f, gv);
        return [be.ToHost(gv)[..host.Offsets[s.B]]];
    }

    /// <summary>
    /// groupOffsets (as floats), gGroup, gOut, gValues [nnz] and sse of the fused prefix loss on generated codes, with
    /// 1–4 prefix ends drawn in [1, F] (last = F) and coefficients in (0, 1].
    /// </summary>
    public static float[][] PrefixLoss(Backend be, Shape s)
    {
        var host = s.Codes(40);
        var rng = new Random(s.Seed + 19);
        int[] ends = [.. Enumerable.Range(1, s.F - 1).OrderBy(_ => rng.Next()).Take(rng.Next(Math.Min(3, s.F - 1) + 1)).Order(), s.F];
        int n = ends.Length;
        using var codes = Upload(be, s, host);
        using var groups = codes.GroupView(n);
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 41));
        using var bias = be.FromHost<float>(s.Values(s.D, 42));
        using var x = be.FromHost<float>(s.Values(s.B * s.D, 43));
        using var endsT = be.FromHost<int>(ends);
        using var c = be.FromHost<float>([.. Enumerable.Range(0, n).Select(_ => (float)(0.05 + 0.95 * rng.NextDouble()))]);
        be.Upload<int>(Enumerable.Repeat(int.MinValue, s.B * n + 1).ToArray(), groups.Offsets);
        using var gGroup = Poisoned(be, s.B * n * s.D);
        using var gOut = Poisoned(be, s.B * s.D);
        using var gv = Poisoned(be, s.B * s.K);
        using var sse = Poisoned(be, s.B * n);
        be.PrefixLoss(codes, w, bias, x, endsT, c, groups, gGroup, gOut, gv, sse);
        return [[.. be.ToHost(groups.Offsets).Select(o => (float)o)], be.ToHost(gGroup), be.ToHost(gOut),
            be.ToHost(gv)[..host.Offsets[s.B]], be.ToHost(sse)];
    }

    /// <summary>g-SAE score [B, F] of generated pre and projections with β = 0.7.</summary>
    public static float[][] GradientScore(Backend be, Shape s)
    {
        using var pre = be.FromHost<float>(s.Values(s.B * s.F, 46));
        using var proj = be.FromHost<float>(s.Values(s.B * s.F, 47));
        using var score = Poisoned(be, s.B * s.F);
        be.GradientScore(pre, proj, 0.7f, score);
        return [be.ToHost(score)];
    }

    /// <summary>Values [nnz] of generated codes replaced by generated pre [B, F] entries.</summary>
    public static float[][] GatherCodes(Backend be, Shape s)
    {
        var host = s.Codes(48);
        using var codes = Upload(be, s, host);
        be.Upload<float>(Enumerable.Repeat(float.NaN, s.B * s.K).ToArray(), codes.Values);
        using var pre = be.FromHost<float>(s.Values(s.B * s.F, 49));
        be.GatherCodes(codes, pre);
        return [be.ToHost(codes.Values)[..host.Offsets[s.B]]];
    }

    /// <summary>y [F·d] += α·x with α from the seed.</summary>
    public static float[][] Axpy(Backend be, Shape s)
    {
        using var x = be.FromHost<float>(s.Values(s.F * s.D, 50));
        using var y = be.FromHost<float>(s.Values(s.F * s.D, 51));
        be.Axpy(0.25f * (s.Seed % 7 - 3), x, y);
        return [be.ToHost(y)];
    }

    /// <summary>norms [B] of generated rows around a generated center.</summary>
    public static float[][] RowNorm(Backend be, Shape s)
    {
        using var x = be.FromHost<float>(s.Values(s.B * s.D, 29));
        using var center = be.FromHost<float>(s.Values(s.D, 30));
        using var norms = Poisoned(be, s.B);
        be.RowNorm(x, center, norms);
        return [be.ToHost(norms)];
    }

    /// <summary>max [F] of generated pre [B, F].</summary>
    public static float[][] ColumnMax(Backend be, Shape s)
    {
        using var pre = be.FromHost<float>(s.Values(s.B * s.F, 31));
        using var max = Poisoned(be, s.F);
        be.ColumnMax(pre, max);
        return [be.ToHost(max)];
    }

    /// <summary>top-AFA: TopK with per-row target norms drawn in [0, 3).</summary>
    public static float[][] TopAfa(Backend be, Shape s)
    {
        var rng = new Random(s.Seed + 7);
        using var targets = be.FromHost<float>(Enumerable.Range(0, s.B).Select(_ => (float)(rng.NextDouble() * 3)).ToArray());
        return Select(be, s, (pre, codes) => be.TopK(pre, s.K, false, targets, codes));
    }

    /// <summary>gW [F, d], gSum [F], counts [F] (as floats).</summary>
    public static float[][] AggregateByLatent(Backend be, Shape s)
    {
        using var codes = Upload(be, s, s.Codes(14));
        using var g = be.FromHost<float>(s.Values(s.B * s.K, 15));
        using var v = be.FromHost<float>(s.Values(s.B * s.D, 16));
        using var center = be.FromHost<float>(s.Values(s.D, 17));
        bool accumulate = s.Seed % 2 == 1;
        using var gW = accumulate ? be.FromHost<float>(s.Values(s.F * s.D, 32)) : Poisoned(be, s.F * s.D);
        using var gSum = accumulate ? be.FromHost<float>(s.Values(s.F, 33)) : Poisoned(be, s.F);
        using var counts = be.FromHost<int>(Enumerable.Repeat(int.MinValue, s.F).ToArray());
        be.AggregateByLatent(codes, g, v, center, accumulate, gW, gSum, counts);
        return [be.ToHost(gW), be.ToHost(gSum), [.. be.ToHost(counts).Select(c => (float)c)]];
    }

    /// <summary>pre [B, F] with latents outside a generated mask zeroed.</summary>
    public static float[][] MaskLatents(Backend be, Shape s)
    {
        var rng = new Random(s.Seed + 11);
        using var pre = be.FromHost<float>(s.Values(s.B * s.F, 34));
        using var mask = be.FromHost<int>(Enumerable.Range(0, s.F).Select(_ => rng.Next(2)).ToArray());
        using var output = Poisoned(be, s.B * s.F);
        be.MaskLatents(pre, mask, output);
        return [be.ToHost(output)];
    }

    /// <summary>gθ [F] for thresholds placed on some of the generated pre values (so bands are hit) and ε = 0.3.</summary>
    public static float[][] JumpReluThresholdGrad(Backend be, Shape s) => JumpReluThresholdGrad(be, s, 0f, 0f);

    /// <summary>As <see cref="JumpReluThresholdGrad(Backend, Shape)"/> with the tanh penalty (weight 0.2, scale 4) in the band too.</summary>
    public static float[][] JumpReluThresholdGradTanh(Backend be, Shape s) => JumpReluThresholdGrad(be, s, 0.2f, 4f);

    private static float[][] JumpReluThresholdGrad(Backend be, Shape s, float tanhWeight, float tanhScale)
    {
        var preHost = s.Values(s.B * s.F, 35);
        var rng = new Random(s.Seed + 13);
        var theta = Enumerable.Range(0, s.F).Select(j => rng.Next(2) == 0 ? preHost[rng.Next(s.B) * s.F + j] + 0.05f : 0.5f).ToArray();
        using var pre = be.FromHost<float>(preHost);
        using var th = be.FromHost<float>(theta);
        using var gOut = be.FromHost<float>(s.Values(s.B * s.D, 36));
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 37));
        using var g = Poisoned(be, s.F);
        be.JumpReluThresholdGrad(pre, th, gOut, w, 0.3f, 0.01f, tanhWeight, tanhScale, g);
        return [be.ToHost(g)];
    }

    /// <summary>The values [capacity] after a per-latent affine map of the stored entries with generated scales and centers.</summary>
    public static float[][] ScaleLatents(Backend be, Shape s)
    {
        var host = s.Codes(60);
        using var codes = Upload(be, s, host);
        using var scale = be.FromHost<float>(s.Values(s.F, 61));
        using var center = be.FromHost<float>(s.Values(s.F, 62));
        be.ScaleLatents(codes, scale, center, codes.Values);
        return [be.ToHost(codes.Values)];   // all capacity slots: those past offsets[B] must be left alone
    }

    /// <summary>Row dots [F] of two generated [F, d] matrices.</summary>
    public static float[][] RowDot(Backend be, Shape s)
    {
        using var a = be.FromHost<float>(s.Values(s.F * s.D, 63));
        using var b = be.FromHost<float>(s.Values(s.F * s.D, 64));
        using var output = Poisoned(be, s.F);
        be.RowDot(a, b, output);
        return [be.ToHost(output)];
    }

    /// <summary>[B, F] after a per-column affine map; some columns get scale 0.</summary>
    public static float[][] ScaleColumns(Backend be, Shape s)
    {
        var scaleHost = s.Values(s.F, 65);
        using var input = be.FromHost<float>(s.Values(s.B * s.F, 66));
        using var scale = be.FromHost<float>(scaleHost);
        using var center = be.FromHost<float>(s.Values(s.F, 67));
        using var output = Poisoned(be, s.B * s.F);
        be.ScaleColumns(input, scale, center, output);
        return [be.ToHost(output)];
    }

    /// <summary>
    /// Generated gradients [capacity] after adding the tanh penalty's gradient for generated codes (scale 4, weight 0.3): the
    /// stored entries change, the slots past offsets[B] must not.
    /// </summary>
    public static float[][] TanhPenaltyGrad(Backend be, Shape s)
    {
        using var codes = Upload(be, s, s.Codes(68));
        using var g = be.FromHost<float>(s.Values(s.B * s.K, 69));
        be.TanhPenaltyGrad(codes, 0.3f, 4f, g);
        return [be.ToHost(g)];
    }

    /// <summary>gValues [nnz] after adding the top-AFA loss gradient to generated ones.</summary>
    public static float[][] AfaLossGrad(Backend be, Shape s)
    {
        var host = s.Codes(38);
        var rng = new Random(s.Seed + 17);
        using var codes = Upload(be, s, host);
        using var targets = be.FromHost<float>(Enumerable.Range(0, s.B).Select(_ => (float)(rng.NextDouble() * 2)).ToArray());
        using var gv = be.FromHost<float>(s.Values(s.B * s.K, 39));
        be.AfaLossGrad(codes, targets, 0.7f, gv);
        return [be.ToHost(gv)[..host.Offsets[s.B]]];
    }

    /// <summary>gbDec [d].</summary>
    public static float[][] DecoderBiasGrad(Backend be, Shape s)
    {
        using var gOut = be.FromHost<float>(s.Values(s.B * s.D, 18));
        using var gbEnc = be.FromHost<float>(s.Values(s.F, 19));
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 20));
        using var gb = Poisoned(be, s.D);
        be.DecoderBiasGrad(gOut, gbEnc, w, gb);
        return [be.ToHost(gb)];
    }

    /// <summary>param, m, v after one Adam step (step number 1 + Seed % 5).</summary>
    public static float[][] Adam(Backend be, Shape s)
    {
        int n = s.F * s.D, t = 1 + s.Seed % 5;
        using var grad = be.FromHost<float>(s.Values(n, 21));
        using var p = be.FromHost<float>(s.Values(n, 22));
        using var m = be.FromHost<float>(s.Values(n, 23));
        using var v = be.FromHost<float>([.. s.Values(n, 24).Select(MathF.Abs)]);
        be.Adam(grad, new Adam.Step(1e-3f, 0.9f, 0.999f, 1e-8f, 1 - MathF.Pow(0.9f, t), 1 - MathF.Pow(0.999f, t)), p, m, v);
        return [be.ToHost(p), be.ToHost(m), be.ToHost(v)];
    }

    /// <summary>g [F, d] with the component along each row of w removed.</summary>
    public static float[][] RemoveParallelGrad(Backend be, Shape s)
    {
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 25));
        using var g = be.FromHost<float>(s.Values(s.F * s.D, 26));
        be.RemoveParallelGrad(w, s.D, parallelOnly: s.Seed % 2 == 1, g);
        return [be.ToHost(g)];
    }

    /// <summary>w [F, d] with unit rows.</summary>
    public static float[][] NormalizeRows(Backend be, Shape s)
    {
        using var w = be.FromHost<float>(s.Values(s.F * s.D, 27));
        be.NormalizeRows(s.D, w);
        return [be.ToHost(w)];
    }

    /// <summary>Codes on <paramref name="be"/> from host CSR arrays (indices/values padded to capacity).</summary>
    public static SparseCodes Upload(Backend be, Shape s, (int[] Offsets, int[] Indices, float[] Values) host)
    {
        var codes = new SparseCodes(be, s.B, (long)s.B * s.K);
        be.Upload<int>(host.Offsets, codes.Offsets);
        be.Upload<int>(host.Indices, codes.Indices);
        be.Upload<float>(host.Values, codes.Values);
        return codes;
    }

    private static Tensor<float> Poisoned(Backend be, int n) => be.FromHost<float>(Enumerable.Repeat(float.NaN, n).ToArray());

    private static SparseCodes PoisonedCodes(Backend be, Shape s, long capacity)
    {
        var codes = new SparseCodes(be, s.B, capacity);
        be.Upload<int>(Enumerable.Repeat(int.MinValue, s.B + 1).ToArray(), codes.Offsets);
        be.Upload<int>(Enumerable.Repeat(int.MinValue, (int)capacity).ToArray(), codes.Indices);
        be.Upload<float>(Enumerable.Repeat(float.NaN, (int)capacity).ToArray(), codes.Values);
        return codes;
    }
}
