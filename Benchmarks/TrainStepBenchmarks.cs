using BenchmarkDotNet.Attributes;
using SaeGpu.Data;
using SaeGpu.Training;

namespace SaeGpu.Benchmarks;

/// <summary>
/// One full TopK training step (encode GEMM, TopK, sparse decode, sparse backward, Adam, decoder renorm) on the CPU backend,
/// the same step of a TopK Matryoshka SAE with five prefixes (fused prefix loss instead of the plain error), and TorchSharp-cpu's
/// two versions of the TopK step (<see cref="TorchSae"/>): dense autograd (the baseline) and sparse-aware, and TorchSharp's
/// encode GEMM alone (the floor of a step).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
[MemoryDiagnoser]
public class TrainStepBenchmarks : CpuSaeBenchmark
{
    private Trainer trainer = null!, matryoshkaTrainer = null!;
    private SparseAutoencoder matryoshka = null!;
    private float[] batch = null!;
    private TorchSae torchDense = null!, torchSparse = null!;

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
        torchDense = new TorchSae(s, batch);
        torchSparse = new TorchSae(s, batch);
        torchDense.DenseStep();
        torchSparse.SparseStep();
        torchDense.Encode();
    }

    [Benchmark(Baseline = true)]
    public float TorchDenseTrainStep() => torchDense.DenseStep();

    [Benchmark]
    public float TorchSparseTrainStep() => torchSparse.SparseStep();

    /// <summary>TorchSharp's encode GEMM alone (the floor of a step), so goal ratios against it come from this run too.</summary>
    [Benchmark]
    public void TorchEncode() => torchDense.Encode();

    [Benchmark]
    public StepResult CpuTrainStep() => trainer.Step(batch);

    [Benchmark]
    public StepResult CpuMatryoshkaTrainStep() => matryoshkaTrainer.Step(batch);

    [GlobalCleanup]
    public void Cleanup()
    {
        torchDense.Dispose();
        torchSparse.Dispose();
        trainer.Dispose();
        matryoshkaTrainer.Dispose();
        matryoshka.Dispose();
        DisposeSae();
    }
}
