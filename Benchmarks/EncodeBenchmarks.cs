using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;

namespace SaeGpu.Benchmarks;

/// <summary>
/// The encode GEMM alone (2·B·d·F flops), TopK selection, and the two fused (EncodeTopK, no [B, F] matrix; in fp32, and
/// through the exact int8 screen where this CPU has it) on the CPU backend, against TorchSharp-cpu's GEMM of the same
/// pre = (x − b_dec)·W_encᵀ + b_enc into a preallocated [B, F] (the baseline); GFLOP/s = 2·B·d·F / time.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class EncodeBenchmarks : CpuSaeBenchmark
{
    private Tensor<float> x = null!, pre = null!;
    private SparseCodes codes = null!;
    private int k;
    private TorchSae torchSae = null!;

    [GlobalSetup]
    public void Setup()
    {
        var s = CreateSae();
        var batch = RandomBatch(s, 1);
        x = Backend.FromHost<float>(batch);
        pre = Backend.Allocate<float>((long)s.B * s.F);
        codes = new SparseCodes(Backend, s.B, (long)s.B * s.K);
        k = s.K;
        CpuEncode();
        torchSae = new TorchSae(s, batch);
        TorchEncode();
    }

    [Benchmark(Baseline = true)]
    public void TorchEncode() => torchSae.Encode();

    [Benchmark]
    public void CpuEncode() => Backend.Encode(x, Sae.BDec, Sae.WEnc, Sae.BEnc, pre);

    [Benchmark]
    public void CpuTopK() => Backend.TopK(pre, k, absolute: false, null, codes);

    [Benchmark]
    public void CpuEncodeTopK()
    {
        Backend.UseInt8Screen = false;
        Backend.EncodeTopK(x, Sae.BDec, Sae.WEnc, Sae.BEnc, null, k, absolute: false, null, codes);
    }

    [Benchmark]
    public void CpuEncodeTopKScreened()
    {
        Backend.UseInt8Screen = Backend.Int8ScreenSupported;
        Backend.EncodeTopK(x, Sae.BDec, Sae.WEnc, Sae.BEnc, null, k, absolute: false, null, codes);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        torchSae.Dispose();
        codes.Dispose();
        x.Dispose();
        pre.Dispose();
        DisposeSae();
    }
}
