using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;

namespace SaeGpu.Benchmarks;

/// <summary>
/// The sparse passes of a plain TopK step after the encode, on the CPU backend with k random sorted latents per row:
/// decode, error and value gradients run as three ops (the baseline) and fused per row (<c>SparseDecodeGrad</c>), the two
/// latent-major weight-gradient aggregations, and the b_dec gradient.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class SparseBackwardBenchmarks : CpuSaeBenchmark
{
    private Tensor<float> x = null!, xhat = null!, gOut = null!, sse = null!, gValues = null!, gW = null!, gSum = null!, gbDec = null!, zeroD = null!;
    private Tensor<int> counts = null!;
    private SparseCodes codes = null!;
    private float scale;

    [GlobalSetup]
    public void Setup()
    {
        var s = CreateSae();
        x = Backend.FromHost<float>(RandomBatch(s, 3));
        codes = RandomCodes(s, new Random(4));
        scale = 2f / (s.B * (float)s.D);
        (xhat, gOut) = (Backend.Allocate<float>((long)s.B * s.D), Backend.Allocate<float>((long)s.B * s.D));
        (sse, gValues) = (Backend.Allocate<float>(s.B), Backend.Allocate<float>(codes.Capacity));
        (gW, gSum, gbDec, zeroD) = (Backend.Allocate<float>((long)s.F * s.D), Backend.Allocate<float>(s.F), Backend.Allocate<float>(s.D), Backend.Allocate<float>(s.D));
        counts = Backend.Allocate<int>(s.F);
        CpuSparseDecodeGrad();
    }

    /// <summary>SparseDecode, ReconstructionError and ValueGrad one after another (each gathers its rows of W_dec again).</summary>
    [Benchmark(Baseline = true)]
    public void CpuDecodeThenGrad()
    {
        Backend.SparseDecode(codes, Sae.WDec, Sae.BDec, xhat);
        Backend.ReconstructionError(x, xhat, scale, gOut, sse);
        Backend.ValueGrad(codes, gOut, Sae.WDec, 0f, gValues);
    }

    /// <summary>The same outputs fused per row.</summary>
    [Benchmark]
    public void CpuSparseDecodeGrad() => Backend.SparseDecodeGrad(codes, Sae.WDec, Sae.BDec, x, scale, 0f, xhat, gOut, sse, gValues);

    /// <summary>∂L/∂W_dec [F, d]: per latent, Σ a·gOut[row].</summary>
    [Benchmark]
    public void CpuDecoderGrad() => Backend.AggregateByLatent(codes, codes.Values, gOut, zeroD, false, gW, gSum, counts);

    /// <summary>∂L/∂W_enc [F, d] and ∂L/∂b_enc: per latent, Σ g·(x[row] − b_dec).</summary>
    [Benchmark]
    public void CpuEncoderGrad() => Backend.AggregateByLatent(codes, gValues, x, Sae.BDec, false, gW, gSum, counts);

    /// <summary>∂L/∂b_dec = Σ_b gOut − ∂L/∂b_encᵀ·W_enc.</summary>
    [Benchmark]
    public void CpuDecoderBiasGrad() => Backend.DecoderBiasGrad(gOut, gSum, Sae.WEnc, gbDec);

    [GlobalCleanup]
    public void Cleanup()
    {
        codes.Dispose();
        foreach (var t in new[] { x, xhat, gOut, sse, gValues, gW, gSum, gbDec, zeroD }) t.Dispose();
        counts.Dispose();
        DisposeSae();
    }
}
