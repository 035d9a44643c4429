using BenchmarkDotNet.Attributes;
using SaeGpu.Data;
using SaeGpu.Training;

namespace SaeGpu.Benchmarks;

/// <summary>
/// One full TopK training step (encode GEMM, TopK, sparse decode, sparse backward, Adam, decoder renorm) on the CPU backend.
/// TorchSharp baselines come later.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class TrainStepBenchmarks : CpuSaeBenchmark
{
    private Trainer trainer = null!;
    private float[] batch = null!;

    [GlobalSetup]
    public void Setup()
    {
        var s = CreateSae();
        trainer = new Trainer(Sae, new TrainConfig(BatchSize: s.B, Steps: 1_000_000));
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
        DisposeSae();
    }
}
