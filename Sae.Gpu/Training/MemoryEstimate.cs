using System.Globalization;
using SaeGpu.Compute;

namespace SaeGpu;

/// <summary>
/// The peak memory a training run needs, in bytes, estimated before anything is allocated: with P the SAE's parameter count
/// (2·F·d + F + d + one F-vector per latent parameter), <see cref="Weights"/> = 4P, <see cref="Gradients"/> = 4P,
/// <see cref="Optimizer"/> = 8P (Adam's two moments), <see cref="Buffers"/> = 4·(12·B·d + m·B·F + w·F·d + 160·F + 8·d)
/// (the trainer's [B, d] rows, its AuxK and Matryoshka scratch, m [B, F] matrices and w extra [F, d] matrices of the
/// architecture, and per-latent statistics), and <see cref="Saving"/> = 12P (the host copies and transposes a checkpoint
/// save makes). The coefficients are measured: tests check the estimate against the live heap of every architecture.
/// </summary>
/// <param name="Weights">The SAE's parameters.</param>
/// <param name="Gradients">Their gradients.</param>
/// <param name="Optimizer">Adam's first and second moments.</param>
/// <param name="Buffers">The trainer's per-batch and per-latent scratch.</param>
/// <param name="Saving">Host copies made while a checkpoint is written.</param>
public sealed record MemoryEstimate(long Weights, long Gradients, long Optimizer, long Buffers, long Saving)
{
    /// <summary>Everything together: the peak of a run (saturating at <see cref="long.MaxValue"/>).</summary>
    public long Total => Saturated((double)Weights + Gradients + Optimizer + Buffers + Saving);

    /// <summary>The estimate for training <paramref name="model"/> with <paramref name="train"/> (both validated).</summary>
    public static MemoryEstimate For(SaeConfig model, TrainConfig train)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(train);
        train.Validate(model.Validate());
        // In double: B·F can pass 2^63 bytes for configs that are valid on paper; such sizes saturate, and are refused.
        double b = train.BatchSize, d = model.InputDim, f = model.Latents, p = ParameterCount(model);
        double rows = 12 * b * d + (model.IsMatryoshka ? b * d * model.MatryoshkaWidths!.Count : 0);
        double buffers = 4 * (rows + model.Strategy.TrainingBatchMatrices * b * f + model.Strategy.TrainingWeightMatrices * f * d + 160 * f + 8 * d);
        return new MemoryEstimate(Saturated(4 * p), Saturated(4 * p), Saturated(8 * p), Saturated(buffers), Saturated(12 * p));
    }

    private static long Saturated(double bytes) => bytes >= long.MaxValue ? long.MaxValue : (long)bytes;

    /// <summary>The SAE's parameter count P = 2·F·d + F + d + F per latent parameter.</summary>
    internal static long ParameterCount(SaeConfig model) =>
        2L * model.Latents * model.InputDim + model.Latents + model.InputDim + model.Strategy.LatentParameters.Count * (long)model.Latents;

    /// <summary>
    /// Throws <see cref="InsufficientMemoryException"/> with the numbers when this estimate, plus <see cref="Headroom"/>,
    /// exceeds the memory <paramref name="backend"/> can use: host memory available now (Linux: MemAvailable, capped by the
    /// process's memory limit) for a host backend; for a GPU, the device's memory for the SAE's tensors and host memory for
    /// the save copies.
    /// </summary>
    public void Check(Backend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        long host = AvailableHostBytes();
        if (backend.DeviceMemoryBytes is { } device)
        {
            long tensors = Total - Saving;
            if (Headroom(tensors) > device) throw Refuse($"{backend.DeviceName} has {Gib(device)}", tensors);
            if (Headroom(Saving) > host) throw Refuse($"this machine has {Gib(host)} available for the save copies", Saving);
        }
        else if (Headroom(Total) > host) throw Refuse($"this machine has {Gib(host)} available", Total);
    }

    /// <summary>
    /// <paramref name="bytes"/> with room for the runtime and the garbage collector: + 10 % + 256 MiB. (Measured: training
    /// d 768, F 100,000, B 256 on the CPU peaked at 4.09 GiB resident against an estimate of 4.08 GiB.)
    /// </summary>
    internal static long Headroom(long bytes) => Saturated(bytes * 1.1 + (256L << 20));

    private InsufficientMemoryException Refuse(string have, long need) => new(
        $"Training needs about {Gib(need)} ({Describe()}) and {Gib(Headroom(need) - need)} of headroom, but {have}. Use fewer latents, a smaller batch or a machine with more memory.");

    /// <summary>The parts in GiB, for messages.</summary>
    public string Describe() =>
        $"weights {Gib(Weights)}, gradients {Gib(Gradients)}, Adam {Gib(Optimizer)}, buffers {Gib(Buffers)}, checkpoint copies {Gib(Saving)}";

    private static string Gib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1L << 30):F2} GiB");

    /// <summary>Host memory this process can still allocate: MemAvailable (Linux) capped by the GC's limit less its heap.</summary>
    internal static long AvailableHostBytes()
    {
        long limit = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes - GC.GetTotalMemory(false);
        return MemAvailable() is { } free ? Math.Min(free, limit) : limit;
    }

    private static long? MemAvailable()
    {
        const string File = "/proc/meminfo";
        if (!System.IO.File.Exists(File)) return null;
        foreach (string line in System.IO.File.ReadLines(File))
            if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)
                && long.TryParse(line["MemAvailable:".Length..].Replace("kB", "").Trim(), CultureInfo.InvariantCulture, out long kb))
                return kb * 1024;
        return null;
    }
}
