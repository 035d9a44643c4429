using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;

namespace SaeGpu.Benchmarks;

/// <summary>
/// The fused Matryoshka prefix loss with the paper's five prefixes against what a plain TopK step runs in its place —
/// ReconstructionError then ValueGrad — and against the plain decode, on the CPU backend with k sorted latents per row.
/// The decoder-row gradient (AggregateByLatent) is the same op in both and is not timed here.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class PrefixLossBenchmarks : CpuSaeBenchmark
{
    private Tensor<float> x = null!, xhat = null!, gOut = null!, gValues = null!, sse = null!, gGroup = null!, prefixSse = null!, coefficients = null!;
    private Tensor<int> ends = null!;
    private SparseCodes codes = null!, groups = null!;
    private float scale;

    [GlobalSetup]
    public void Setup()
    {
        var s = CreateSae();
        var rng = new Random(2);
        x = Backend.FromHost<float>(Enumerable.Range(0, s.B * s.D).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray());
        codes = RandomCodes(s, rng);
        int[] widths = SaeConfig.DefaultMatryoshkaWidths(s.F);
        int n = widths.Length;
        ends = Backend.FromHost<int>(widths);
        scale = 2f / (s.B * (float)s.D);
        coefficients = Backend.FromHost<float>(Enumerable.Repeat(scale / n, n).ToArray());
        groups = codes.GroupView(n);
        (xhat, gOut) = (Backend.Allocate<float>((long)s.B * s.D), Backend.Allocate<float>((long)s.B * s.D));
        (gValues, sse) = (Backend.Allocate<float>(codes.Capacity), Backend.Allocate<float>(s.B));
        (gGroup, prefixSse) = (Backend.Allocate<float>((long)s.B * n * s.D), Backend.Allocate<float>((long)s.B * n));
        Backend.SparseDecode(codes, Sae.WDec, Sae.BDec, xhat);
    }

    /// <summary>What the plain step runs instead of the prefix loss: the error and its gradient, then the value gradients.</summary>
    [Benchmark(Baseline = true)]
    public void CpuErrorAndValueGrad()
    {
        Backend.ReconstructionError(x, xhat, scale, gOut, sse);
        Backend.ValueGrad(codes, gOut, Sae.WDec, 0f, gValues);
    }

    /// <summary>The sparse decode x̂ = codes·W_dec + b_dec (for scale: the prefix loss does one decode's work plus the value gradients).</summary>
    [Benchmark]
    public void CpuSparseDecode() => Backend.SparseDecode(codes, Sae.WDec, Sae.BDec, xhat);

    /// <summary>The fused prefix loss over five prefixes: prefix errors, group gradients, b_dec gradient and value gradients.</summary>
    [Benchmark]
    public void CpuPrefixLoss() =>
        Backend.PrefixLoss(codes, Sae.WDec, Sae.BDec, x, ends, coefficients, groups, gGroup, gOut, gValues, prefixSse);

    [GlobalCleanup]
    public void Cleanup()
    {
        groups.Dispose();
        codes.Dispose();
        foreach (var t in new[] { x, xhat, gOut, gValues, sse, gGroup, prefixSse, coefficients }) t.Dispose();
        ends.Dispose();
        DisposeSae();
    }
}
