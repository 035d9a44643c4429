using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;
using SaeGpu.Model;

namespace SaeGpu.Benchmarks;

/// <summary>The encode GEMM alone (2·B·d·F flops) and TopK selection on the CPU backend; GFLOP/s = 2·B·d·F / time.</summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class EncodeBenchmarks
{
    private Backend backend = null!;
    private Sae sae = null!;
    private Tensor<float> x = null!, pre = null!;
    private SparseCodes codes = null!;

    /// <summary>d, F, k, B.</summary>
    [Params("768x16384x32x4096", "768x4096x32x1024")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var s = BenchShape.Parse(Shape);
        backend = new CpuBackend();
        sae = s.CreateSae(backend);
        var rng = new Random(1);
        x = backend.FromHost<float>(Enumerable.Range(0, s.B * s.D).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray());
        pre = backend.Allocate<float>((long)s.B * s.F);
        codes = new SparseCodes(backend, s.B, s.K);
        backend.Encode(x, sae.BDec, sae.WEnc, sae.BEnc, pre);
    }

    [Benchmark]
    public void CpuEncode() => backend.Encode(x, sae.BDec, sae.WEnc, sae.BEnc, pre);

    [Benchmark]
    public void CpuTopK() => backend.TopK(pre, codes);

    [GlobalCleanup]
    public void Cleanup()
    {
        codes.Dispose();
        x.Dispose();
        pre.Dispose();
        sae.Dispose();
        backend.Dispose();
    }
}
