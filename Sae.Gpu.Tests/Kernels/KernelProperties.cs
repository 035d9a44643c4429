using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SaeGpu.Compute;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// FsCheck properties, written once and run per backend (one subclass each): every op agrees with the scalar reference on
/// generated awkward shapes (1, 31/32/33, tile ± 1) and values with ties, zeros and negatives, and every fused op equals
/// its parts run in turn. Outputs are poisoned before each run, so an unwritten element fails. The case count is the
/// subclass's (<see cref="PropertiesAttribute"/>): ILGPU's CPU accelerator emulates every GPU thread, so its fast tier runs
/// few cases and its Stress tier many.
/// </summary>
public abstract class KernelProperties(string backend)
{
    /// <summary>The backend under test.</summary>
    protected Backend Backend => TestBackends.ByName(backend);

    private static readonly int[] Rows = [1, 2, 5, 17, 33];
    private static readonly int[] Widths = [1, 3, 8, 31, 32, 33];
    private static readonly int[] Latents = [1, 2, 7, 31, 32, 33, 63, 64, 65];
    private static readonly int[] Ks = [1, 2, 3, 5, 8];

    internal static Gen<Shape> Shapes(int[] rows, int[] widths, int[] latents) =>
        from b in Gen.Elements(rows)
        from d in Gen.Elements(widths)
        from f in Gen.Elements(latents)
        from k in Gen.Elements(Ks)
        from seed in Gen.Choose(0, 1_000_000)
        select new Shape(b, d, f, k, seed);

    internal static Gen<Shape> Default => Shapes(Rows, Widths, Latents);

    // Row selections: F below, at and past the GPU selection kernels' 256-thread groups.
    private static Gen<Shape> SelectionShapes => Shapes(Rows, [1], [1, 2, 7, 31, 32, 33, 63, 64, 65, 255, 256, 257, 300]);

    // k up to a third of F: the radix-select kernel's (GpuSelectV2) bins and the CPU path's candidate buffer (pruned at 2k)
    // meet many candidates and ties.
    private static Gen<Shape> LargeK =>
        from b in Gen.Elements(1, 3)
        from f in Gen.Elements(255, 300, 600)
        from k in Gen.Elements(16, 40, 100)
        from seed in Gen.Choose(0, 1_000_000)
        select new Shape(b, 1, f, k, seed);

    // Rows wider than the CPU path's 128- and 64-float register slices (Simd.AccumulateRows), with 8-wide and scalar remainders.
    private static Gen<Shape> WideRows => Shapes(Rows, [64, 100, 141, 200], Latents);

    // Float32 sums of n terms bounded by 4 against a float64 oracle.
    private static double Sum(int n) => 1e-5 + 2e-6 * n;

    private Property Agree(Func<Backend, Shape, float[][]> op, Gen<Shape> shapes, Func<Shape, double> atol, double rtol = 1e-4) =>
        Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            var expected = op(TestBackends.Reference, s);
            var actual = op(Backend, s);
            for (int o = 0; o < expected.Length; o++) Tolerance.AssertClose(expected[o], actual[o], atol(s), rtol, $"{s} output {o}");
        });

    /// <summary>
    /// A fused op gives exactly the outputs of its parts run in turn on <paramref name="be"/> (each part is checked against
    /// the reference).
    /// </summary>
    internal static Property SameAsUnfused(Func<Backend, Shape, float[][]> fusedOp, Func<Backend, Shape, float[][]> unfusedOp, Backend be, Gen<Shape> shapes) =>
        Prop.ForAll(shapes.ToArbitrary(), s =>
        {
            var unfused = unfusedOp(be, s);
            var fused = fusedOp(be, s);
            for (int o = 0; o < unfused.Length; o++) Tolerance.AssertClose(unfused[o], fused[o], 0, 0, $"{s} output {o}");
        });

    private Property SameAsUnfused(Func<Backend, Shape, float[][]> fusedOp, Func<Backend, Shape, float[][]> unfusedOp, Gen<Shape> shapes) =>
        SameAsUnfused(fusedOp, unfusedOp, Backend, shapes);

    [Property] public Property ExclusiveScan_MatchesReference() => Agree(OpCases.ExclusiveScan, Shapes(Rows, [1], [1, 2, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65]), _ => 0, 0);
    [Property] public Property Encode_MatchesReference() => Agree(OpCases.Encode, Shapes([1, 2, 3, 4, 5, 63, 65], [1, 7, 8, 9, 15, 16, 17, 33], Latents), s => Sum(s.D));
    [Property] public Property TopK_MatchesReference() => Agree(OpCases.TopK, SelectionShapes, _ => 0, 0);
    [Property] public Property TopK_LargeK_MatchesReference() => Agree(OpCases.TopK, LargeK, _ => 0, 0);
    [Property] public Property AbsTopK_LargeK_MatchesReference() => Agree(OpCases.AbsTopK, LargeK, _ => 0, 0);
    [Property] public Property AbsTopK_MatchesReference() => Agree(OpCases.AbsTopK, SelectionShapes, _ => 0, 0);
    [Property] public Property EncodeTopK_EqualsEncodeThenTopK() => SameAsUnfused(OpCases.EncodeTopK, OpCases.EncodeThenTopK, Shapes([1, 5, 17], [1, 9, 33], [1, 7, 65]));
    [Property] public Property SparseDecodeGrad_MatchesReference() => Agree(OpCases.SparseDecodeGrad, Default, s => Sum(8 * s.D * s.K));
    [Property] public Property SparseDecodeGrad_EqualsItsParts() => SameAsUnfused(OpCases.SparseDecodeGrad, OpCases.DecodeThenGrad, Default);
    [Property] public Property ThresholdSelect_MatchesReference() => Agree(OpCases.ThresholdSelect, Default, _ => 0, 0);
    [Property] public Property BatchTopK_MatchesReference() => Agree(OpCases.BatchTopK, Default, _ => 0, 0);
    [Property] public Property FeatureChoice_MatchesReference() => Agree(OpCases.FeatureChoice, Shapes([1, 2, 5, 17, 33, 257, 300], [1], [1, 2, 7, 31, 32, 33]), _ => 0, 0);
    [Property] public Property TopAfa_MatchesReference() => Agree(OpCases.TopAfa, Shapes(Rows, [1], [.. Latents, 257]), _ => 0, 0);
    [Property] public Property RowNorm_MatchesReference() => Agree(OpCases.RowNorm, Default, s => Sum(4 * s.D));
    [Property] public Property ColumnMax_MatchesReference() => Agree(OpCases.ColumnMax, Default, _ => 0, 0);
    [Property] public Property MatchingPursuit_MatchesReference() => Agree(OpCases.MatchingPursuit, Default, s => Sum(8 * s.D * s.K), 1e-3);
    [Property] public Property SparseDecode_MatchesReference() => Agree(OpCases.SparseDecode, Default, s => Sum(s.K));
    [Property] public Property ReconstructionError_MatchesReference() => Agree(OpCases.ReconstructionError, Default, s => Sum(4 * s.D));
    [Property] public Property ValueGrad_MatchesReference() => Agree(OpCases.ValueGrad, Default, s => Sum(s.D));
    [Property] public Property PrefixLoss_MatchesReference() => Agree(OpCases.PrefixLoss, Default, s => Sum(16 * s.D * (s.K + 2)));
    [Property] public Property AggregateByLatent_MatchesReference() => Agree(OpCases.AggregateByLatent, Default, s => Sum(4 * s.B));
    [Property] public Property AggregateByLatent_WideRows_MatchesReference() => Agree(OpCases.AggregateByLatent, WideRows, s => Sum(4 * s.B));
    [Property] public Property GradientScore_MatchesReference() => Agree(OpCases.GradientScore, Default, _ => 1e-6);
    [Property] public Property GatherCodes_MatchesReference() => Agree(OpCases.GatherCodes, Default, _ => 0, 0);
    [Property] public Property Axpy_MatchesReference() => Agree(OpCases.Axpy, Default, _ => 1e-6);
    [Property] public Property MaskLatents_MatchesReference() => Agree(OpCases.MaskLatents, Default, _ => 0, 0);
    [Property] public Property JumpReluThresholdGrad_MatchesReference() => Agree(OpCases.JumpReluThresholdGrad, Default, s => 1e-3 + Sum(s.B * s.D) / 0.3 * 4);
    [Property] public Property JumpReluThresholdGradTanh_MatchesReference() => Agree(OpCases.JumpReluThresholdGradTanh, Default, s => 1e-3 + Sum(s.B * s.D) / 0.3 * 4);
    [Property] public Property ScaleLatents_MatchesReference() => Agree(OpCases.ScaleLatents, Default, _ => 1e-6);
    [Property] public Property RowDot_MatchesReference() => Agree(OpCases.RowDot, Default, s => Sum(s.D));
    [Property] public Property ScaleColumns_MatchesReference() => Agree(OpCases.ScaleColumns, Default, _ => 1e-6);
    [Property] public Property TanhPenaltyGrad_MatchesReference() => Agree(OpCases.TanhPenaltyGrad, Default, _ => 1e-6);
    [Property] public Property AfaLossGrad_MatchesReference() => Agree(OpCases.AfaLossGrad, Default, s => Sum(4 * s.K));
    [Property] public Property DecoderBiasGrad_MatchesReference() => Agree(OpCases.DecoderBiasGrad, Default, s => Sum(s.B + s.F));
    [Property] public Property Adam_MatchesReference() => Agree(OpCases.Adam, Default, _ => 1e-6);
    [Property] public Property RemoveParallelGrad_MatchesReference() => Agree(OpCases.RemoveParallelGrad, Default, s => Sum(4 * s.D), 1e-3);
    [Property] public Property NormalizeRows_MatchesReference() => Agree(OpCases.NormalizeRows, Default, s => Sum(s.D));

    /// <summary>Gradient reductions repeat bit for bit (no order set by atomics or scheduling).</summary>
    [Fact]
    public void GradientReductions_RepeatBitForBit()
    {
        var shape = new Shape(33, 17, 65, 5, 123);
        Assert.Equal(OpCases.AggregateByLatent(Backend, shape), OpCases.AggregateByLatent(Backend, shape));
        Assert.Equal(OpCases.DecoderBiasGrad(Backend, shape), OpCases.DecoderBiasGrad(Backend, shape));
    }
}

/// <summary>The kernel properties on the SIMD CPU path.</summary>
[Properties(MaxTest = 100)]
public sealed class KernelPropertiesOnCpu() : KernelProperties("cpu")
{
    // The CPU path's fused EncodeTopK works in row blocks (up to 256 rows, fewer when B is small) and 64-latent tiles: rows and latents past one of each.
    [Property]
    public Property EncodeTopK_PastOneBlock_EqualsEncodeThenTopK() =>
        SameAsUnfused(OpCases.EncodeTopK, OpCases.EncodeThenTopK, TestBackends.Cpu, Shapes([1, 3, 4, 5, 17, 65, 130], [1, 7, 8, 9, 33], [1, 2, 7, 63, 64, 65, 130]));
}

/// <summary>The kernel properties on the ILGPU kernels, plus EncodeTopK encoding F in chunks (its GPU launcher's scratch limit).</summary>
public abstract class GpuKernelProperties(string backend, string chunked) : KernelProperties(backend)
{
    [Property]
    public Property EncodeTopK_Chunked_EqualsEncodeThenTopK() =>
        SameAsUnfused(OpCases.EncodeTopK, OpCases.EncodeThenTopK, TestBackends.ByName(chunked), Shapes([1, 5, 17], [1, 9, 33], [65, 130, 200]));
}

/// <summary>The kernel properties on ILGPU's CPU accelerator: three cases per property in the fast tier.</summary>
[Properties(MaxTest = 3)]
public sealed class KernelPropertiesOnIlgpuCpu() : GpuKernelProperties("ilgpu-cpu", "ilgpu-cpu-chunked");

/// <summary>The kernel properties on ILGPU's CPU accelerator with many cases (Stress tier).</summary>
[Trait("Category", "Stress")]
[Properties(MaxTest = 30)]
public sealed class KernelPropertiesOnIlgpuCpuStress() : GpuKernelProperties("ilgpu-cpu", "ilgpu-cpu-chunked");

/// <summary>The kernel properties on a CUDA device; skipped where there is none.</summary>
[Properties(MaxTest = 100)]
public sealed class KernelPropertiesOnCuda : GpuKernelProperties
{
    public KernelPropertiesOnCuda() : base("cuda", "cuda-chunked") => TestBackends.SkipWithoutCuda();
}

/// <summary>The reference's own fused ops equal their parts (the oracle the other backends are held to).</summary>
public class ReferenceFusionProperties
{
    [Property(MaxTest = 100)]
    public Property EncodeTopK_EqualsEncodeThenTopK() =>
        KernelProperties.SameAsUnfused(OpCases.EncodeTopK, OpCases.EncodeThenTopK, TestBackends.Reference, KernelProperties.Shapes([1, 3, 5], [1, 7], [1, 7, 33]));

    [Property(MaxTest = 100)]
    public Property SparseDecodeGrad_EqualsItsParts() =>
        KernelProperties.SameAsUnfused(OpCases.SparseDecodeGrad, OpCases.DecodeThenGrad, TestBackends.Reference, KernelProperties.Default);

    /// <summary>
    /// The pursuit properties compare only the steps decided by a margin; almost every generated case must compare some
    /// steps, and most steps must be compared, or they test little.
    /// </summary>
    [Fact]
    public void MatchingPursuit_GeneratedCasesAreMostlyDecisive()
    {
        var shapes = KernelProperties.Default.Sample(200);
        var steps = shapes.Select(OpCases.DecisiveSteps).ToArray();
        Assert.True(steps.Count(k => k > 0) >= 180, $"only {steps.Count(k => k > 0)} of 200 generated pursuit cases compare a step");
        Assert.True(steps.Sum() >= 0.6 * shapes.Sum(s => s.K), $"only {steps.Sum()} of {shapes.Sum(s => s.K)} generated pursuit steps are compared");
    }
}
