// One shared ILGPU accelerator serves all GPU tests; ops on it are not thread-safe across tests.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
