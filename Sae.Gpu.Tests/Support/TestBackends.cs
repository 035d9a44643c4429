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

    private static readonly Lazy<GpuBackend?> CudaDevice = new(() => OnCuda(new GpuBackend()));
    private static readonly Lazy<GpuBackend?> CudaDeviceChunked = new(() => OnCuda(new GpuBackend { EncodeTopKScratchFloats = 1 }));

    /// <summary>The ILGPU kernels on a CUDA device; null where there is none.</summary>
    public static Backend? Cuda => CudaDevice.Value;

    /// <summary>Skips the calling test (from a test class's constructor, all of its tests) where no CUDA device is present.</summary>
    public static void SkipWithoutCuda() => Xunit.Assert.SkipWhen(Cuda is null, "no CUDA device on this machine");

    /// <summary>
    /// Backend by name, for theories and per-backend test classes: reference, cpu, ilgpu-cpu (alias gpu), ilgpu-cpu-chunked,
    /// cuda, cuda-chunked.
    /// </summary>
    public static Backend ByName(string name) => name switch
    {
        "reference" => Reference,
        "cpu" => Cpu,
        "gpu" or "ilgpu-cpu" => Gpu,
        "ilgpu-cpu-chunked" => GpuChunked,
        "cuda" => Cuda ?? throw new InvalidOperationException("No CUDA device."),
        "cuda-chunked" => CudaDeviceChunked.Value ?? throw new InvalidOperationException("No CUDA device."),
        _ => throw new ArgumentException(name),
    };

    // The backend when ILGPU found a CUDA device (it falls back to its CPU accelerator otherwise), else null.
    private static GpuBackend? OnCuda(GpuBackend backend)
    {
        if (backend.Name == "gpu") return backend;
        backend.Dispose();
        return null;
    }
}
