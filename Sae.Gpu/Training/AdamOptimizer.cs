using SaeGpu.Compute;
using SaeGpu.Kernels;

namespace SaeGpu.Training;

/// <summary>
/// Adam over a fixed list of parameter tensors, with first/second moments on the same backend (see <see cref="Kernels.Adam"/>).
/// Owns the moment tensors: dispose it.
/// </summary>
internal sealed class AdamOptimizer : IDisposable, IResumable
{
    private readonly Backend backend;
    private readonly Tensor<float>[] parameters;
    private readonly (Tensor<float> M, Tensor<float> V)[] moments;
    private readonly float beta1, beta2, eps;

    /// <summary>Adam for <paramref name="parameters"/> with decays β1, β2 and ε.</summary>
    public AdamOptimizer(Backend backend, IReadOnlyList<Tensor<float>> parameters, double beta1, double beta2, double eps)
    {
        this.backend = backend;
        this.parameters = [.. parameters];
        moments = [.. parameters.Select(p => (backend.Allocate<float>(p.Length), backend.Allocate<float>(p.Length)))];
        (this.beta1, this.beta2, this.eps) = ((float)beta1, (float)beta2, (float)eps);
    }

    /// <summary>Steps taken so far (t in the bias corrections).</summary>
    public int StepCount { get; private set; }

    /// <summary>One Adam step: parameter i moves by its gradient <paramref name="gradients"/>[i] at rate <paramref name="lr"/>.</summary>
    public void Step(IReadOnlyList<Tensor<float>> gradients, double lr)
    {
        if (gradients.Count != parameters.Length)
            throw new ArgumentException($"Got {gradients.Count} gradients for {parameters.Length} parameters.", nameof(gradients));
        StepCount++;
        var s = new Adam.Step((float)lr, beta1, beta2, eps,
            (float)(1 - Math.Pow(beta1, StepCount)), (float)(1 - Math.Pow(beta2, StepCount)));
        for (int i = 0; i < parameters.Length; i++) backend.Adam(gradients[i], s, parameters[i], moments[i].M, moments[i].V);
    }

    /// <summary>Writes the step count and both moments of every parameter.</summary>
    public void WriteState(BinaryWriter writer)
    {
        writer.Write(StepCount);
        foreach (var (m, v) in moments)
        {
            writer.WriteTensor(backend, m);
            writer.WriteTensor(backend, v);
        }
    }

    /// <summary>Restores the step count and the moments.</summary>
    public void ReadState(BinaryReader reader)
    {
        StepCount = reader.ReadInt32();
        if (StepCount < 0) throw new InvalidDataException($"Adam step count {StepCount} is negative.");
        for (int i = 0; i < moments.Length; i++)
        {
            reader.ReadTensor(backend, moments[i].M, $"Adam first moment of parameter {i}");
            reader.ReadTensor(backend, moments[i].V, $"Adam second moment of parameter {i}");
        }
    }

    /// <summary>Frees the moment tensors.</summary>
    public void Dispose()
    {
        foreach (var (m, v) in moments) { m.Dispose(); v.Dispose(); }
    }
}
