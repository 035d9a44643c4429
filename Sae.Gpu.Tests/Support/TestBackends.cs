using SaeGpu.Compute;

namespace SaeGpu.Tests.Support;

/// <summary>Backends shared by the tests (created once: ILGPU context creation and kernel compilation are slow).</summary>
public static class TestBackends
{
    private static readonly Lazy<GpuBackend> Ilgpu = new(() => new GpuBackend(forceCpuAccelerator: true));

    /// <summary>The scalar oracle.</summary>
    public static Backend Reference { get; } = new ReferenceBackend();

    /// <summary>The SIMD CPU path.</summary>
    public static Backend Cpu { get; } = new CpuBackend();

    /// <summary>The ILGPU kernels on ILGPU's CPU accelerator (NVIDIA-like: warp 32).</summary>
    public static Backend Gpu => Ilgpu.Value;

    /// <summary>Backend by name, for theories.</summary>
    public static Backend ByName(string name) => name switch
    {
        "reference" => Reference,
        "cpu" => Cpu,
        "gpu" => Gpu,
        _ => throw new ArgumentException(name),
    };
}
