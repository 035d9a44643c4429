using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SaeGpu.Compute;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// FsCheck properties: every op on the CPU path and on the ILGPU kernels (ILGPU's CPU accelerator) agrees with the
/// scalar reference on generated awkward shapes (1, 31/32/33, tile ± 1) and values with ties, zeros and negatives.
/// Outputs are poisoned before each run, so an unwritten element fails. GPU cases are fewer: ILGPU's CPU accelerator is slow.
/// </summary>
public class KernelPropertyTests
{
    private const int CpuCases = 100, GpuCases = 25;

    private static readonly int[] Rows = [1, 2, 5, 17, 33];
    private static readonly int[] Widths = [1, 3, 8, 31, 32, 33];
    private static readonly int[] Latents = [1, 2, 7, 31, 32, 33, 63, 64, 65];
    private static readonly int[] Ks = [1, 2, 3, 5, 8];

    private static Gen<Shape> Shapes(int[] rows, int[] widths, int[] latents) =>
        from b in Gen.Elements(rows)
        from d in Gen.Elements(widths)
        from f in Gen.Elements(latents)
        from k in Gen.Elements(Ks)
        from seed in Gen.Choose(0, 1_000_000)
        select new Shape(b, d, f, k, seed);

    private static Gen<Shape> Default => Shapes(Rows, Widths, Latents);

    // Float32 sums of n terms bounded by 4 against a float64 oracle.
    private static double Sum(int n) => 1e-5 + 2e-6 * n;

    private static Property Agree(Func<Backend, Shape, float[][]> op, string backend, Gen<Shape> shapes, Func<Shape, double> atol,
        double rtol = 1e-4) =>
        Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            var expected = op(TestBackends.Reference, s);
            var actual = op(TestBackends.ByName(backend), s);
            for (int o = 0; o < expected.Length; o++) Tolerance.AssertClose(expected[o], actual[o], atol(s), rtol, $"{s} output {o}");
        });

    [Property(MaxTest = CpuCases)] public Property ExclusiveScan_Cpu_MatchesReference() => Agree(OpCases.ExclusiveScan, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property ExclusiveScan_Gpu_MatchesReference() => Agree(OpCases.ExclusiveScan, "gpu", Shapes([1, 5, 17], [1], [1, 15, 16, 17, 64, 65]), _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property Encode_Cpu_MatchesReference() => Agree(OpCases.Encode, "cpu", Shapes([1, 3, 4, 5, 63, 65], [1, 7, 8, 9, 17, 33], Latents), s => Sum(s.D));
    [Property(MaxTest = GpuCases)] public Property Encode_Gpu_MatchesReference() => Agree(OpCases.Encode, "gpu", Shapes([1, 2, 63, 65], [1, 15, 16, 17, 33], Latents), s => Sum(s.D));

    [Property(MaxTest = CpuCases)] public Property TopK_Cpu_MatchesReference() => Agree(OpCases.TopK, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property TopK_Gpu_MatchesReference() => Agree(OpCases.TopK, "gpu", Shapes(Rows, [1], [1, 7, 33, 255, 256, 257, 300]), _ => 0, 0);

    // k up to a third of F: the radix-select kernel's (GpuSelectV2) bins and the CPU path's candidate buffer (pruned at 2k)
    // meet many candidates and ties.
    private static Gen<Shape> LargeK =>
        from b in Gen.Elements(1, 3)
        from f in Gen.Elements(255, 300, 600)
        from k in Gen.Elements(16, 40, 100)
        from seed in Gen.Choose(0, 1_000_000)
        select new Shape(b, 1, f, k, seed);

    [Property(MaxTest = CpuCases)] public Property TopK_Cpu_LargeK_MatchesReference() => Agree(OpCases.TopK, "cpu", LargeK, _ => 0, 0);
    [Property(MaxTest = CpuCases)] public Property AbsTopK_Cpu_LargeK_MatchesReference() => Agree(OpCases.AbsTopK, "cpu", LargeK, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property TopK_Gpu_LargeK_MatchesReference() => Agree(OpCases.TopK, "gpu", LargeK, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property AbsTopK_Gpu_LargeK_MatchesReference() => Agree(OpCases.AbsTopK, "gpu", LargeK, _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property AbsTopK_Cpu_MatchesReference() => Agree(OpCases.AbsTopK, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property AbsTopK_Gpu_MatchesReference() => Agree(OpCases.AbsTopK, "gpu", Shapes(Rows, [1], [1, 7, 33, 255, 256, 257, 300]), _ => 0, 0);

    // A fused op must give exactly the outputs of its parts run in turn on the same backend (each part is checked against
    // the reference); for EncodeTopK, rows past one 64-row block and latents past one 64-latent tile included.
    private static Property SameAsUnfused(Func<Backend, Shape, float[][]> fusedOp, Func<Backend, Shape, float[][]> unfusedOp,
        string backend, Gen<Shape> shapes) =>
        Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            var be = TestBackends.ByName(backend);
            var unfused = unfusedOp(be, s);
            var fused = fusedOp(be, s);
            for (int o = 0; o < unfused.Length; o++) Tolerance.AssertClose(unfused[o], fused[o], 0, 0, $"{s} output {o}");
        });

    [Property(MaxTest = CpuCases)] public Property EncodeTopK_Cpu_EqualsEncodeThenTopK() => SameAsUnfused(OpCases.EncodeTopK, OpCases.EncodeThenTopK, "cpu", Shapes([1, 3, 4, 5, 17, 65, 130], [1, 7, 8, 9, 33], [1, 2, 7, 63, 64, 65, 130]));
    [Property(MaxTest = GpuCases)] public Property EncodeTopK_Gpu_EqualsEncodeThenTopK() => SameAsUnfused(OpCases.EncodeTopK, OpCases.EncodeThenTopK, "gpu", Shapes([1, 5, 17], [1, 9, 33], [1, 7, 65]));
    [Property(MaxTest = GpuCases)] public Property EncodeTopK_GpuChunked_EqualsEncodeThenTopK() => SameAsUnfused(OpCases.EncodeTopK, OpCases.EncodeThenTopK, "gpu-chunked", Shapes([1, 5, 17], [1, 9, 33], [65, 130, 200]));
    [Property(MaxTest = CpuCases)] public Property EncodeTopK_Reference_EqualsEncodeThenTopK() => SameAsUnfused(OpCases.EncodeTopK, OpCases.EncodeThenTopK, "reference", Shapes([1, 3, 5], [1, 7], [1, 7, 33]));

    [Property(MaxTest = CpuCases)] public Property SparseDecodeGrad_Cpu_MatchesReference() => Agree(OpCases.SparseDecodeGrad, "cpu", Default, s => Sum(8 * s.D * s.K));
    [Property(MaxTest = GpuCases)] public Property SparseDecodeGrad_Gpu_MatchesReference() => Agree(OpCases.SparseDecodeGrad, "gpu", Default, s => Sum(8 * s.D * s.K));
    [Property(MaxTest = CpuCases)] public Property SparseDecodeGrad_Cpu_EqualsItsParts() => SameAsUnfused(OpCases.SparseDecodeGrad, OpCases.DecodeThenGrad, "cpu", Default);
    [Property(MaxTest = GpuCases)] public Property SparseDecodeGrad_Gpu_EqualsItsParts() => SameAsUnfused(OpCases.SparseDecodeGrad, OpCases.DecodeThenGrad, "gpu", Default);
    [Property(MaxTest = CpuCases)] public Property SparseDecodeGrad_Reference_EqualsItsParts() => SameAsUnfused(OpCases.SparseDecodeGrad, OpCases.DecodeThenGrad, "reference", Default);

    [Property(MaxTest = CpuCases)] public Property ThresholdSelect_Cpu_MatchesReference() => Agree(OpCases.ThresholdSelect, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property ThresholdSelect_Gpu_MatchesReference() => Agree(OpCases.ThresholdSelect, "gpu", Default, _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property BatchTopK_Cpu_MatchesReference() => Agree(OpCases.BatchTopK, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property BatchTopK_Gpu_MatchesReference() => Agree(OpCases.BatchTopK, "gpu", Default, _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property FeatureChoice_Cpu_MatchesReference() => Agree(OpCases.FeatureChoice, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property FeatureChoice_Gpu_MatchesReference() => Agree(OpCases.FeatureChoice, "gpu", Shapes([1, 5, 17, 257, 300], [1], [1, 7, 33]), _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property TopAfa_Cpu_MatchesReference() => Agree(OpCases.TopAfa, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property TopAfa_Gpu_MatchesReference() => Agree(OpCases.TopAfa, "gpu", Shapes(Rows, [1], [1, 7, 33, 257]), _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property RowNorm_Cpu_MatchesReference() => Agree(OpCases.RowNorm, "cpu", Default, s => Sum(4 * s.D));
    [Property(MaxTest = GpuCases)] public Property RowNorm_Gpu_MatchesReference() => Agree(OpCases.RowNorm, "gpu", Default, s => Sum(4 * s.D));

    [Property(MaxTest = CpuCases)] public Property ColumnMax_Cpu_MatchesReference() => Agree(OpCases.ColumnMax, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property ColumnMax_Gpu_MatchesReference() => Agree(OpCases.ColumnMax, "gpu", Default, _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property MatchingPursuit_Cpu_MatchesReference() => Agree(OpCases.MatchingPursuit, "cpu", Default, s => Sum(8 * s.D * s.K), 1e-3);
    [Property(MaxTest = GpuCases)] public Property MatchingPursuit_Gpu_MatchesReference() => Agree(OpCases.MatchingPursuit, "gpu", Default, s => Sum(8 * s.D * s.K), 1e-3);

    /// <summary>
    /// The pursuit properties compare only the steps decided by a margin; almost every generated case must compare some
    /// steps, and most steps must be compared, or they test little.
    /// </summary>
    [Fact]
    public void MatchingPursuit_GeneratedCasesAreMostlyDecisive()
    {
        var shapes = Default.Sample(200);
        var steps = shapes.Select(OpCases.DecisiveSteps).ToArray();
        Assert.True(steps.Count(k => k > 0) >= 180, $"only {steps.Count(k => k > 0)} of 200 generated pursuit cases compare a step");
        Assert.True(steps.Sum() >= 0.6 * shapes.Sum(s => s.K), $"only {steps.Sum()} of {shapes.Sum(s => s.K)} generated pursuit steps are compared");
    }

    [Property(MaxTest = CpuCases)] public Property SparseDecode_Cpu_MatchesReference() => Agree(OpCases.SparseDecode, "cpu", Default, s => Sum(s.K));
    [Property(MaxTest = GpuCases)] public Property SparseDecode_Gpu_MatchesReference() => Agree(OpCases.SparseDecode, "gpu", Default, s => Sum(s.K));

    [Property(MaxTest = CpuCases)] public Property ReconstructionError_Cpu_MatchesReference() => Agree(OpCases.ReconstructionError, "cpu", Default, s => Sum(4 * s.D));
    [Property(MaxTest = GpuCases)] public Property ReconstructionError_Gpu_MatchesReference() => Agree(OpCases.ReconstructionError, "gpu", Default, s => Sum(4 * s.D));

    [Property(MaxTest = CpuCases)] public Property ValueGrad_Cpu_MatchesReference() => Agree(OpCases.ValueGrad, "cpu", Default, s => Sum(s.D));
    [Property(MaxTest = GpuCases)] public Property ValueGrad_Gpu_MatchesReference() => Agree(OpCases.ValueGrad, "gpu", Default, s => Sum(s.D));

    [Property(MaxTest = CpuCases)] public Property PrefixLoss_Cpu_MatchesReference() => Agree(OpCases.PrefixLoss, "cpu", Default, s => Sum(16 * s.D * (s.K + 2)));
    [Property(MaxTest = GpuCases)] public Property PrefixLoss_Gpu_MatchesReference() => Agree(OpCases.PrefixLoss, "gpu", Default, s => Sum(16 * s.D * (s.K + 2)));

    [Property(MaxTest = CpuCases)] public Property AggregateByLatent_Cpu_MatchesReference() => Agree(OpCases.AggregateByLatent, "cpu", Default, s => Sum(4 * s.B));
    [Property(MaxTest = GpuCases)] public Property AggregateByLatent_Gpu_MatchesReference() => Agree(OpCases.AggregateByLatent, "gpu", Default, s => Sum(4 * s.B));

    // Rows wider than the CPU path's 128- and 64-float register slices (Simd.AccumulateRows), with 8-wide and scalar remainders.
    private static Gen<Shape> WideRows => Shapes(Rows, [64, 100, 141, 200], Latents);

    [Property(MaxTest = CpuCases)] public Property AggregateByLatent_Cpu_WideRows_MatchesReference() => Agree(OpCases.AggregateByLatent, "cpu", WideRows, s => Sum(4 * s.B));

    [Property(MaxTest = CpuCases)] public Property GradientScore_Cpu_MatchesReference() => Agree(OpCases.GradientScore, "cpu", Default, _ => 1e-6);
    [Property(MaxTest = GpuCases)] public Property GradientScore_Gpu_MatchesReference() => Agree(OpCases.GradientScore, "gpu", Default, _ => 1e-6);

    [Property(MaxTest = CpuCases)] public Property GatherCodes_Cpu_MatchesReference() => Agree(OpCases.GatherCodes, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property GatherCodes_Gpu_MatchesReference() => Agree(OpCases.GatherCodes, "gpu", Default, _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property Axpy_Cpu_MatchesReference() => Agree(OpCases.Axpy, "cpu", Default, _ => 1e-6);
    [Property(MaxTest = GpuCases)] public Property Axpy_Gpu_MatchesReference() => Agree(OpCases.Axpy, "gpu", Default, _ => 1e-6);

    [Property(MaxTest = CpuCases)] public Property MaskLatents_Cpu_MatchesReference() => Agree(OpCases.MaskLatents, "cpu", Default, _ => 0, 0);
    [Property(MaxTest = GpuCases)] public Property MaskLatents_Gpu_MatchesReference() => Agree(OpCases.MaskLatents, "gpu", Default, _ => 0, 0);

    [Property(MaxTest = CpuCases)] public Property JumpReluThresholdGrad_Cpu_MatchesReference() => Agree(OpCases.JumpReluThresholdGrad, "cpu", Default, s => 1e-3 + Sum(s.B * s.D) / 0.3 * 4);
    [Property(MaxTest = GpuCases)] public Property JumpReluThresholdGrad_Gpu_MatchesReference() => Agree(OpCases.JumpReluThresholdGrad, "gpu", Default, s => 1e-3 + Sum(s.B * s.D) / 0.3 * 4);
    [Property(MaxTest = CpuCases)] public Property JumpReluThresholdGradTanh_Cpu_MatchesReference() => Agree(OpCases.JumpReluThresholdGradTanh, "cpu", Default, s => 1e-3 + Sum(s.B * s.D) / 0.3 * 4);
    [Property(MaxTest = GpuCases)] public Property JumpReluThresholdGradTanh_Gpu_MatchesReference() => Agree(OpCases.JumpReluThresholdGradTanh, "gpu", Default, s => 1e-3 + Sum(s.B * s.D) / 0.3 * 4);

    [Property(MaxTest = CpuCases)] public Property ScaleLatents_Cpu_MatchesReference() => Agree(OpCases.ScaleLatents, "cpu", Default, _ => 1e-6);
    [Property(MaxTest = GpuCases)] public Property ScaleLatents_Gpu_MatchesReference() => Agree(OpCases.ScaleLatents, "gpu", Default, _ => 1e-6);
    [Property(MaxTest = CpuCases)] public Property RowDot_Cpu_MatchesReference() => Agree(OpCases.RowDot, "cpu", Default, s => Sum(s.D));
    [Property(MaxTest = GpuCases)] public Property RowDot_Gpu_MatchesReference() => Agree(OpCases.RowDot, "gpu", Default, s => Sum(s.D));
    [Property(MaxTest = CpuCases)] public Property ScaleColumns_Cpu_MatchesReference() => Agree(OpCases.ScaleColumns, "cpu", Default, _ => 1e-6);
    [Property(MaxTest = GpuCases)] public Property ScaleColumns_Gpu_MatchesReference() => Agree(OpCases.ScaleColumns, "gpu", Default, _ => 1e-6);
    [Property(MaxTest = CpuCases)] public Property TanhPenaltyGrad_Cpu_MatchesReference() => Agree(OpCases.TanhPenaltyGrad, "cpu", Default, _ => 1e-6);
    [Property(MaxTest = GpuCases)] public Property TanhPenaltyGrad_Gpu_MatchesReference() => Agree(OpCases.TanhPenaltyGrad, "gpu", Default, _ => 1e-6);

    [Property(MaxTest = CpuCases)] public Property AfaLossGrad_Cpu_MatchesReference() => Agree(OpCases.AfaLossGrad, "cpu", Default, s => Sum(4 * s.K));
    [Property(MaxTest = GpuCases)] public Property AfaLossGrad_Gpu_MatchesReference() => Agree(OpCases.AfaLossGrad, "gpu", Default, s => Sum(4 * s.K));

    [Property(MaxTest = CpuCases)] public Property DecoderBiasGrad_Cpu_MatchesReference() => Agree(OpCases.DecoderBiasGrad, "cpu", Default, s => Sum(s.B + s.F));
    [Property(MaxTest = GpuCases)] public Property DecoderBiasGrad_Gpu_MatchesReference() => Agree(OpCases.DecoderBiasGrad, "gpu", Default, s => Sum(s.B + s.F));

    [Property(MaxTest = CpuCases)] public Property Adam_Cpu_MatchesReference() => Agree(OpCases.Adam, "cpu", Default, _ => 1e-6);
    [Property(MaxTest = GpuCases)] public Property Adam_Gpu_MatchesReference() => Agree(OpCases.Adam, "gpu", Default, _ => 1e-6);

    [Property(MaxTest = CpuCases)] public Property RemoveParallelGrad_Cpu_MatchesReference() => Agree(OpCases.RemoveParallelGrad, "cpu", Default, s => Sum(4 * s.D), 1e-3);
    [Property(MaxTest = GpuCases)] public Property RemoveParallelGrad_Gpu_MatchesReference() => Agree(OpCases.RemoveParallelGrad, "gpu", Default, s => Sum(4 * s.D), 1e-3);

    [Property(MaxTest = CpuCases)] public Property NormalizeRows_Cpu_MatchesReference() => Agree(OpCases.NormalizeRows, "cpu", Default, s => Sum(s.D));
    [Property(MaxTest = GpuCases)] public Property NormalizeRows_Gpu_MatchesReference() => Agree(OpCases.NormalizeRows, "gpu", Default, s => Sum(s.D));
}
