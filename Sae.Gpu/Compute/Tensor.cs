using SaeGpu.Compute;
using SaeGpu.Training;
using SaeGpu.Data;
using SaeGpu.Evaluation;
namespace SaeGpu;

/// <summary>
/// A flat, row-major buffer of <typeparamref name="T"/> owned by one <see cref="Backend"/> (host memory for the
/// reference and CPU backends, device memory for the GPU backend). Shapes are carried by the ops' documentation.
/// </summary>
/// <typeparam name="T">Element type (float or int).</typeparam>
public abstract class Tensor<T> : IDisposable where T : unmanaged
{
    /// <summary>Creates a tensor of <paramref name="length"/> elements owned by <paramref name="owner"/>.</summary>
    private protected Tensor(Backend owner, long length)
    {
        Owner = owner;
        Length = length;
    }

    /// <summary>The backend that allocated this tensor; only it can run ops on it.</summary>
    public Backend Owner { get; }

    /// <summary>Number of elements.</summary>
    public long Length { get; }

    /// <summary>Frees the memory (device memory for GPU tensors).</summary>
    public abstract void Dispose();
}
