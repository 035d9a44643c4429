using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;
using SaeGpu.Model;
using SaeGpu.Data;
using SaeGpu.Training;

namespace SaeGpu.Benchmarks;

/// <summary>
/// One full TopK training step (encode GEMM, TopK, sparse decode, sparse backward, Adam, decoder renorm) on the CPU backend,
/// at the design's benchmark shape (d 768, F 16384, k 32, B 4096) and a smaller one. TorchSharp baselines come later.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class TrainStepBenchmarks
{
    private Backend backend = null!;
    private Sae sae = null!;
    private Trainer trainer = null!;
    private float[] batch = null!;

    /// <summary>d, F, k, B.</summary>
    [Params("768x16384x32x4096", "768x4096x32x1024")]
    public string Shape { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        var s = BenchShape.Parse(Shape);
        backend = new CpuBackend();
        sae = s.CreateSae(backend);
        trainer = new Trainer(sae, new TrainConfig(BatchSize: s.B, Steps: 1_000_000));
        batch = new float[(long)s.B * s.D];
        new SyntheticActivations(new SyntheticOptions(InputDim: s.D, Features: s.F / 4, MeanActive: s.K)).NextBatch(batch);
        trainer.Step(batch);
    }

    [Benchmark]
    public StepResult CpuTrainStep() => trainer.Step(batch);

    [GlobalCleanup]
    public void Cleanup()
    {
        trainer.Dispose();
        sae.Dispose();
        backend.Dispose();
    }
}
