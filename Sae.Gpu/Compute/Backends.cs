namespace SaeGpu.Compute;

/// <summary>Creates backends by name: <c>reference</c>, <c>cpu</c>, <c>gpu</c> (CUDA, else ILGPU's CPU accelerator) or <c>ilgpu-cpu</c>.</summary>
public static class Backends
{
    /// <summary>Environment variable consulted when no name is given.</summary>
    public const string EnvironmentVariable = "SAEGPU_BACKEND";

    /// <summary>The accepted names.</summary>
    public static IReadOnlyList<string> Names { get; } = ["reference", "cpu", "gpu", "ilgpu-cpu"];

    /// <summary>
    /// Creates the backend called <paramref name="name"/>; when it is null or empty, uses <c>SAEGPU_BACKEND</c>, else <c>cpu</c>.
    /// Throws <see cref="ArgumentException"/> for an unknown name.
    /// </summary>
    public static Backend Create(string? name = null)
    {
        string chosen = string.IsNullOrWhiteSpace(name) ? Environment.GetEnvironmentVariable(EnvironmentVariable) ?? "cpu" : name;
        return chosen.Trim().ToLowerInvariant() switch
        {
            "reference" => new ReferenceBackend(),
            "cpu" => new CpuBackend(),
            "gpu" => new GpuBackend(),
            "ilgpu-cpu" => new GpuBackend(forceCpuAccelerator: true),
            _ => throw new ArgumentException(
                $"Unknown backend '{chosen}' (from {(string.IsNullOrWhiteSpace(name) ? EnvironmentVariable : "the option")}); expected one of: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
