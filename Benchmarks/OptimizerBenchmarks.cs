using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;
using SaeGpu.Kernels;

namespace SaeGpu.Benchmarks;

/// <summary>
/// The dense passes over one weight matrix [F, d] that end a step, on the CPU backend: removing the decoder gradient's
/// component along each row, one Adam update (param, gradient and both moments), renormalizing the decoder rows.
/// They are bound by memory traffic (Adam moves 7 × 4·F·d bytes).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class OptimizerBenchmarks : CpuSaeBenchmark
{
    private Tensor<float> grad = null!, m = null!, v = null!;
    private int d;

    [GlobalSetup]
    public void Setup()
    {
        var s = CreateSae();
        d = s.D;
        grad = Backend.FromHost<float>(RandomBatch(s with { B = s.F }, 5));
        (m, v) = (Backend.Allocate<float>((long)s.F * s.D), Backend.Allocate<float>((long)s.F * s.D));
    }

    /// <summary>One Adam step on W_dec [F, d].</summary>
    [Benchmark(Baseline = true)]
    public void CpuAdam() => Backend.Adam(grad, new Adam.Step(1e-4f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.001f), Sae.WDec, m, v);

    /// <summary>g[j] −= (⟨g[j], w[j]⟩/‖w[j]‖²)·w[j] over W_dec's rows.</summary>
    [Benchmark]
    public void CpuRemoveParallelGrad() => Backend.RemoveParallelGrad(Sae.WDec, d, parallelOnly: false, grad);

    /// <summary>w[j] ← w[j]/‖w[j]‖ over W_dec's rows.</summary>
    [Benchmark]
    public void CpuNormalizeRows() => Backend.NormalizeRows(d, Sae.WDec);

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var t in new[] { grad, m, v }) t.Dispose();
        DisposeSae();
    }
}
