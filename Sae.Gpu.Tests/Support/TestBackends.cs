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

    private static readonly Lazy<GpuBackend> IlgpuChunked = new(() => new GpuBackend(forceCpuAccelerator: true) { EncodeTopKScratchFloats = 1 });

    /// <summary>The ILGPU kernels with the fused EncodeTopK encoding F in chunks of 64 latents (its smallest chunk).</summary>
    public static Backend GpuChunked => IlgpuChunked.Value;

    /// <summary>Backend by name, for theories.</summary>
    public static Backend ByName(string name) => name switch
    {
        "reference" => Reference,
        "cpu" => Cpu,
        "gpu" => Gpu,
        "gpu-chunked" => GpuChunked,
        _ => throw new ArgumentException(name),
    };
}
