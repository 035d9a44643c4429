using BenchmarkDotNet.Attributes;
using SaeGpu.Data;
using SaeGpu.Model;
using SaeGpu.Training;

namespace SaeGpu.Benchmarks;

/// <summary>
/// One full TopK training step (encode GEMM, TopK, sparse decode, sparse backward, Adam, decoder renorm) on the CPU backend,
/// the baseline, and the same step of a TopK Matryoshka SAE with five prefixes (fused prefix loss instead of the plain error).
/// TorchSharp baselines come later.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class TrainStepBenchmarks : CpuSaeBenchmark
{
    private Trainer trainer = null!, matryoshkaTrainer = null!;
    private Sae matryoshka = null!;
    private float[] batch = null!;

    [GlobalSetup]
    public void Setup()
    {
        var s = CreateSae();
        var config = new TrainConfig(BatchSize: s.B, Steps: 1_000_000);
        trainer = new Trainer(Sae, config);
        matryoshka = CreateMatryoshkaSae(s);
        matryoshkaTrainer = new Trainer(matryoshka, config);
        batch = new float[(long)s.B * s.D];
        new SyntheticActivations(new SyntheticOptions(InputDim: s.D, Features: s.F / 4, MeanActive: s.K)).NextBatch(batch);
        trainer.Step(batch);
        matryoshkaTrainer.Step(batch);
    }

    [Benchmark(Baseline = true)]
    public StepResult CpuTrainStep() => trainer.Step(batch);

    [Benchmark]
    public StepResult CpuMatryoshkaTrainStep() => matryoshkaTrainer.Step(batch);

    [GlobalCleanup]
    public void Cleanup()
    {
        trainer.Dispose();
        matryoshkaTrainer.Dispose();
        matryoshka.Dispose();
        DisposeSae();
    }
}
