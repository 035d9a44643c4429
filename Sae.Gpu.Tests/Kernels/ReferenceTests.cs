using SaeGpu.Kernels;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>Each op's scalar reference against tiny cases computed by hand.</summary>
public class ReferenceTests
{
    [Fact]
    public void MatchingPursuit_PicksLargestCorrelation_StopsWhenNothingIsLeft()
    {
        float h = MathF.Sqrt(0.5f);
        float[] atoms = [1, 0, 0, 1, h, h];
        var (offsets, indices, values, residual) = (new int[2], new int[3], new float[3], new float[2]);
        // x = (3, 1): |c| = (3, 1, 2.83) → atom 0 (3); r = (0, 1): |c| = (0, 1, 0.71) → atom 1 (1); r = 0 → stop.
        double margin = MatchingPursuit.Reference([3, 1], atoms, 3, offsets, indices, values, residual);
        Assert.Equal([0, 2], offsets);
        Assert.Equal([0, 1], indices[..2]);
        Assert.Equal([3f, 1f], values[..2]);
        Assert.Equal([0f, 0f], residual);
        Assert.Equal((3 - 4 * h) / Math.Sqrt(10), margin, 5); // step 1: winner 3, runner-up 4·√½; ‖x‖ = √10
    }

    [Fact]
    public void Encode_Reference_HandCase()
    {
        // x = [[1, 2]], b_dec = [1, 1] → centered [0, 1]; W_enc rows [1, 0], [2, 3], [−1, 1]; b_enc = [0.5, 0, −1].
        var pre = new float[3];
        Encode.Reference([1, 2], [1, 1], [1, 0, 2, 3, -1, 1], [0.5f, 0, -1], pre);
        Assert.Equal([0.5f, 3f, 0f], pre);
    }

    [Fact]
    public void TopK_Reference_KeepsLargestPositive_TiesToLowerIndex_SortedByIndex()
    {
        // Row 0: ties at 2 (latents 1, 3, 4) → k = 2 keeps 1 and 3. Row 1: only one positive → one entry. Row 2: none.
        float[] pre = [0.5f, 2, -3, 2, 2, 1, /**/ -1, 0, 0.25f, -2, 0, 0, /**/ 0, -1, -1, 0, -5, 0];
        var offsets = new int[4];
        var idx = new int[6];
        var val = new float[6];
        TopK.Reference(pre, 6, 2, absolute: false, default, offsets, idx, val);
        Assert.Equal([0, 2, 3, 3], offsets);
        Assert.Equal([1, 3, 2], idx[..3]);
        Assert.Equal([2f, 2f, 0.25f], val[..3]);
    }

    [Fact]
    public void AbsTopK_Reference_KeepsLargestMagnitudes_WithSign()
    {
        // Row 0: |−3| wins, then the tie |2| = |−2| goes to the lower index 1. Row 1: zeros never compete.
        float[] pre = [-3, 2, -2, 0, -0.5f, 0];
        var offsets = new int[3];
        var idx = new int[4];
        var val = new float[4];
        TopK.Reference(pre, 3, 2, absolute: true, default, offsets, idx, val);
        Assert.Equal([0, 2, 3], offsets);
        Assert.Equal([0, 1, 1], idx[..3]);
        Assert.Equal([-3f, 2f, -0.5f], val[..3]);
    }

    [Fact]
    public void BatchTopK_Reference_KeepsBudgetAcrossRows_TiesInFlatOrder()
    {
        // B = 2, F = 3, m = 3: 5 is largest; the three 2s tie for the last two slots → flat indices 1 and 3 win over 5.
        float[] pre = [5, 2, -1, 2, 0, 2];
        var t = new float[3];
        var c = new int[3];
        BatchTopKThreshold.Reference(pre, 3, t, c);
        var offsets = new int[3];
        var idx = new int[6];
        var val = new float[6];
        ThresholdSelect.Reference(pre, t, c, offsets, idx, val);
        Assert.Equal([0, 2, 3], offsets);
        Assert.Equal([0, 1, 0], idx[..3]);
        Assert.Equal([5f, 2f, 2f], val[..3]);
    }

    [Fact]
    public void FeatureChoice_Reference_EachLatentKeepsItsTopTokens()
    {
        // B = 3, F = 2, m = 1: latent 0's best token is row 1 (tie with row 2 → lower row); latent 1 has no positive entry.
        float[] pre = [1, -1, 3, 0, 3, -2];
        var t = new float[2];
        var c = new int[2];
        ColumnTopKThreshold.Reference(pre, [1, 1], t, c);
        Assert.Equal([3f, 0f], t);
        Assert.Equal([1, -1], c);
        var offsets = new int[4];
        var idx = new int[6];
        var val = new float[6];
        ThresholdSelect.Reference(pre, t, c, offsets, idx, val);
        Assert.Equal([0, 0, 1, 1], offsets);
        Assert.Equal(0, idx[0]);
        Assert.Equal(3f, val[0]);
    }

    [Fact]
    public void ThresholdSelect_Reference_ThrowsWhenCapacityIsTooSmall() =>
        Assert.Throws<InvalidOperationException>(() => ThresholdSelect.Reference([1, 2], [0, 0], [-1, -1], new int[2], new int[1], new float[1]));

    [Fact]
    public void TopAfa_Reference_PicksCountWhoseCodeNormMatchesTarget()
    {
        // Scores 3, 4, 1 (in rank order 4, 3, 1): c = 4, 5, 5.10. Target 4.4 → 1 entry (|4 − 4.4| < |5 − 4.4|); target 4.6 → 2.
        float[] pre = [3, 4, 1, 3, 4, 1];
        var offsets = new int[3];
        var idx = new int[6];
        var val = new float[6];
        TopK.Reference(pre, 3, 3, absolute: false, [4.4f, 4.6f], offsets, idx, val);
        Assert.Equal([0, 1, 3], offsets);
        Assert.Equal([1, 0, 1], idx[..3]);
    }

    [Fact]
    public void RowNorm_And_ColumnMax_Reference_HandCases()
    {
        var norms = new float[1];
        RowNorm.Reference([4, 5], [1, 1], norms);
        Assert.Equal(5f, norms[0]);
        var max = new float[2];
        ColumnMax.Reference([-1, 2, -3, 1], max);
        Assert.Equal([0f, 2f], max);
    }

    [Fact]
    public void GroundTruthRecovery_SignedCountsOppositeDirections()
    {
        float[] truth = [1, 0];
        float[] wDec = [-1, 0, 0, 1];
        Assert.Equal(0.0, SaeGpu.GroundTruthRecovery.Compute(truth, wDec, 2).RecoveredFraction);
        Assert.Equal(1.0, SaeGpu.GroundTruthRecovery.Compute(truth, wDec, 2, signed: true).RecoveredFraction);
    }

    [Fact]
    public void SparseDecode_Reference_HandCase()
    {
        // Row 0: 2·W[1] + b; row 1: empty → b.
        var output = new float[4];
        SparseDecode.Reference([0, 1, 1], [1], [2], [1, 1, 3, -1], [0.5f, 0.5f], output);
        Assert.Equal([6.5f, -1.5f, 0.5f, 0.5f], output);
    }

    [Fact]
    public void ReconstructionError_Reference_HandCase()
    {
        var grad = new float[2];
        var sse = new float[1];
        ReconstructionError.Reference([1, 2], [2, 0], 0.5f, grad, sse);
        Assert.Equal([0.5f, -1f], grad);
        Assert.Equal(5f, sse[0]);
    }

    [Fact]
    public void ValueGrad_Reference_HandCase()
    {
        // Entries: row 0 latent 0, row 0 latent 1, row 1 latent 1; gOut rows [1, 2], [3, 0]; W rows [1, 1], [0, 2].
        var gv = new float[3];
        ValueGrad.Reference([0, 2, 3], [0, 1, 1], [1, 2, 3, 0], [1, 1, 0, 2], 0.5f, gv);
        Assert.Equal([3.5f, 4.5f, 0.5f], gv);
    }

    [Fact]
    public void AggregateByLatent_Reference_HandCase()
    {
        // Same codes as above, g = [1, 2, 3], v rows [1, 2], [3, 0], center [1, 0]; F = 3 (latent 2 never fires).
        var gW = new float[6];
        var gSum = new float[3];
        var counts = new int[3];
        AggregateByLatent.Reference([0, 2, 3], [0, 1, 1], [1, 2, 3], [1, 2, 3, 0], [1, 0], false, gW, gSum, counts);
        // latent 0: 1·([1,2]−[1,0]) = [0, 2]; latent 1: 2·[0, 2] + 3·[2, 0] = [6, 4].
        Assert.Equal([0f, 2f, 6f, 4f, 0f, 0f], gW);
        Assert.Equal([1f, 5f, 0f], gSum);
        Assert.Equal([1, 2, 0], counts);
        AggregateByLatent.Reference([0, 2, 3], [0, 1, 1], [1, 2, 3], [1, 2, 3, 0], [1, 0], true, gW, gSum, counts);
        Assert.Equal([0f, 4f, 12f, 8f, 0f, 0f], gW);
        Assert.Equal([2f, 10f, 0f], gSum);
    }

    [Fact]
    public void DecoderBiasGrad_Reference_HandCase()
    {
        // Σ_b gOut = [4, 2]; gbEncᵀ W_enc = 1·[1, 0] + 2·[0, 1] = [1, 2] → [3, 0].
        var gb = new float[2];
        DecoderBiasGrad.Reference([1, 2, 3, 0], [1, 2], [1, 0, 0, 1], gb);
        Assert.Equal([3f, 0f], gb);
    }

    [Fact]
    public void Adam_Reference_FirstStepMovesByLearningRateTimesSign()
    {
        // Step 1: m̂ = g, v̂ = g² → update = lr·g/(|g| + ε) ≈ lr·sign(g).
        float[] p = [1, 1], m = [0, 0], v = [0, 0];
        Adam.Reference([0.5f, -2], new Adam.Step(0.1f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.001f), p, m, v);
        Assert.Equal(0.9f, p[0], 5);
        Assert.Equal(1.1f, p[1], 5);
        Assert.Equal(0.05f, m[0], 6);
        Assert.Equal(-0.2f, m[1], 6);
        Assert.Equal(0.00025f, v[0], 7);
        Assert.Equal(0.004f, v[1], 6);
    }

    [Fact]
    public void RemoveParallelGrad_Reference_HandCase()
    {
        // w = [2, 0]: g = [3, 4] loses its first component; zero row leaves g alone.
        float[] g = [3, 4, 1, 1];
        RemoveParallelGrad.Reference([2, 0, 0, 0], 2, false, g);
        Assert.Equal([0f, 4f, 1f, 1f], g);
        float[] h = [3, 4, 1, 1];
        RemoveParallelGrad.Reference([2, 0, 0, 0], 2, true, h);
        Assert.Equal([3f, 0f, 0f, 0f], h);
    }

    [Fact]
    public void NormalizeRows_Reference_HandCase()
    {
        float[] w = [3, 4, 0, 0];
        NormalizeRows.Reference(2, w);
        Assert.Equal([0.6f, 0.8f, 0f, 0f], w);
    }

    [Fact]
    public void ExclusiveScan_Reference_HandCase()
    {
        var offsets = new int[4];
        ExclusiveScan.Reference([2, 0, 3], offsets);
        Assert.Equal([0, 2, 2, 5], offsets);
    }

    [Fact]
    public void Csr_CompactPadded_And_RowOf()
    {
        int[] idx = [5, 6, 7, 0, 0, 0];
        float[] val = [1, 2, 3, 0, 0, 0];
        var offsets = new int[4];
        Csr.CompactPadded([2, 1, 0], 2, offsets, idx, val);
        Assert.Equal([0, 2, 3, 3], offsets);
        Assert.Equal([5, 6, 7], idx[..3]);
        Assert.Equal([1f, 2f, 3f], val[..3]);
        Assert.Equal(0, Csr.RowOf(offsets, 1));
        Assert.Equal(1, Csr.RowOf(offsets, 2));
    }
}
