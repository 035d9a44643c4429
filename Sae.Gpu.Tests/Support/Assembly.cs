// One shared ILGPU accelerator serves all GPU tests; ops on it are not thread-safe across tests.
[assembly: Xunit.v3.Parallelization(Mode = Xunit.Sdk.ParallelMode.None)]
