using BenchmarkDotNet.Running;
using SaeGpu.Benchmarks;
using TorchSharp;

// `dotnet run -c Release --project Benchmarks -- torch-check`: loads TorchSharp from the build output (checks the
// build step's GLIBCXX patch), multiplies two 2×2 matrices of ones, and checks that the two TorchSharp baseline steps
// agree after three steps on a small shape. Anything else goes to BenchmarkDotNet.
if (args is ["torch-check"])
{
    using (var product = torch.ones(2, 2).matmul(torch.ones(2, 2)))
        Console.WriteLine($"TorchSharp {typeof(torch).Assembly.GetName().Version}, {torch.get_num_threads()} threads: " +
            $"ones(2,2)·ones(2,2) = [{string.Join(", ", product.data<float>().ToArray())}]");
    var shape = new BenchShape(64, 256, 8, 128);
    var rng = new Random(5);
    var batch = Enumerable.Range(0, shape.B * shape.D).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
    using var dense = new TorchSae(shape, batch);
    using var sparse = new TorchSae(shape, batch);
    for (int i = 0; i < 3; i++)
        Console.WriteLine($"step {i}: loss dense {dense.DenseStep():G6}, sparse-aware {sparse.SparseStep():G6}");
    double worst = dense.Weights.Zip(sparse.Weights, (a, b) => (a - b).abs().max().item<float>()).Max();
    Console.WriteLine($"max |weight difference| after 3 steps: {worst:G3}");
    return worst < 1e-5 ? 0 : 1;
}

BenchmarkSwitcher.FromAssembly(typeof(TrainStepBenchmarks).Assembly).Run(args);
return 0;
