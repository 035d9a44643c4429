using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;

namespace SaeGpu.Benchmarks;

/// <summary>
/// Matching pursuit on the CPU backend at d 384, 8192 unit atoms, k 32 steps, B 1024 vectors per call, against one
/// correlation GEMM of the same shape (B·n·d, the work of one pursuit step) as the baseline. Vectors/s = B / time.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class MatchingPursuitBenchmarks
{
    private const int D = 384, Atoms = 8192, K = 32, B = 1024;
    private Backend backend = null!;
    private Tensor<float> x = null!, atoms = null!, residual = null!, corr = null!, zeroD = null!, zeroN = null!;
    private SparseCodes codes = null!;

    [GlobalSetup]
    public void Setup()
    {
        backend = new CpuBackend();
        var rng = new Random(3);
        x = backend.FromHost<float>(Enumerable.Range(0, B * D).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray());
        using (var random = SparseAutoencoder.CreateRandom(backend, new SaeConfig(D, Atoms, 1), seed: 4)) atoms = backend.FromHost<float>(backend.ToHost(random.WDec));
        (residual, corr) = (backend.Allocate<float>(B * D), backend.Allocate<float>((long)B * Atoms));
        (zeroD, zeroN) = (backend.Allocate<float>(D), backend.Allocate<float>(Atoms));
        codes = new SparseCodes(backend, B, B * K);
    }

    /// <summary>One correlation GEMM residual·atomsᵀ (one pursuit step's dense work).</summary>
    [Benchmark(Baseline = true)]
    public void CpuCorrelationGemm() => backend.Encode(x, zeroD, atoms, zeroN, corr);

    /// <summary>The full pursuit: k = 32 steps for 1,024 vectors.</summary>
    [Benchmark]
    public void CpuMatchingPursuit() => backend.MatchingPursuit(x, atoms, K, codes, residual);

    [GlobalCleanup]
    public void Cleanup()
    {
        codes.Dispose();
        foreach (var t in new[] { x, atoms, residual, corr, zeroD, zeroN }) t.Dispose();
        backend.Dispose();
    }
}
