using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(SaeGpu.Benchmarks.TrainStepBenchmarks).Assembly).Run(args);
