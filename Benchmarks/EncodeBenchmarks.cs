using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;

namespace SaeGpu.Benchmarks;

/// <summary>The encode GEMM alone (2·B·d·F flops) and TopK selection on the CPU backend; GFLOP/s = 2·B·d·F / time.</summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class EncodeBenchmarks : CpuSaeBenchmark
{
    private Tensor<float> x = null!, pre = null!;
    private SparseCodes codes = null!;
    private int k;

    [GlobalSetup]
    public void Setup()
    {
        var s = CreateSae();
        var rng = new Random(1);
        x = Backend.FromHost<float>(Enumerable.Range(0, s.B * s.D).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray());
        pre = Backend.Allocate<float>((long)s.B * s.F);
        codes = new SparseCodes(Backend, s.B, (long)s.B * s.K);
        k = s.K;
        CpuEncode();
    }

    [Benchmark]
    public void CpuEncode() => Backend.Encode(x, Sae.BDec, Sae.WEnc, Sae.BEnc, pre);

    [Benchmark]
    public void CpuTopK() => Backend.TopK(pre, k, absolute: false, null, codes);

    [GlobalCleanup]
    public void Cleanup()
    {
        codes.Dispose();
        x.Dispose();
        pre.Dispose();
        DisposeSae();
    }
}
