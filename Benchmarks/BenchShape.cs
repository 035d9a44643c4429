using BenchmarkDotNet.Attributes;
using SaeGpu.Compute;

namespace SaeGpu.Benchmarks;

/// <summary>A benchmark shape written "d x F x k x B".</summary>
public sealed record BenchShape(int D, int F, int K, int B)
{
    /// <summary>Parses "768x16384x32x4096".</summary>
    public static BenchShape Parse(string s)
    {
        var p = s.Split('x').Select(int.Parse).ToArray();
        return new BenchShape(p[0], p[1], p[2], p[3]);
    }
}

/// <summary>
/// Base of the CPU-backend benchmarks: the design's benchmark shape (d 768, F 16384, k 32, B 4096) and a smaller one,
/// a CPU backend and a seeded random SAE of the shape.
/// </summary>
public abstract class CpuSaeBenchmark
{
    /// <summary>d, F, k, B.</summary>
    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "";

    /// <summary>
    /// The shapes to run: SAEGPU_BENCH_SHAPES (comma-separated, e.g. "768x4096x32x1024") when set, else the benchmark
    /// shape and the smaller one.
    /// </summary>
    public static IEnumerable<string> Shapes =>
        Environment.GetEnvironmentVariable("SAEGPU_BENCH_SHAPES") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : ["768x16384x32x4096", "768x4096x32x1024"];

    protected Backend Backend { get; private set; } = null!;
    protected SparseAutoencoder Sae { get; private set; } = null!;

    /// <summary>A host batch [B, d] of the shape (uniform in [−0.5, 0.5), seeded).</summary>
    protected static float[] RandomBatch(BenchShape s, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, s.B * s.D).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
    }

    /// <summary>Seeded random codes: k distinct latents per row in ascending order, values uniform in [0, 1).</summary>
    protected SparseCodes RandomCodes(BenchShape s, Random rng)
    {
        var offsets = Enumerable.Range(0, s.B + 1).Select(r => r * s.K).ToArray();
        var indices = Enumerable.Range(0, s.B).SelectMany(_ => Enumerable.Range(0, s.K).Select(_ => rng.Next(s.F)).Distinct()
            .Concat(Enumerable.Range(0, s.F)).Distinct().Take(s.K).Order()).ToArray();
        var values = indices.Select(_ => (float)rng.NextDouble()).ToArray();
        return SparseCodes.FromHost(Backend, offsets, indices, values);
    }

    /// <summary>Creates the backend and SAE; returns the parsed shape for the derived setup.</summary>
    protected BenchShape CreateSae()
    {
        var s = BenchShape.Parse(Shape);
        Backend = new CpuBackend();
        Sae = SparseAutoencoder.CreateRandom(Backend, new SaeConfig(s.D, s.F, s.K), seed: 0);
        return s;
    }

    /// <summary>A TopK Matryoshka SAE of the shape with the paper's five default prefixes (see SaeConfig.DefaultMatryoshkaWidths).</summary>
    protected SparseAutoencoder CreateMatryoshkaSae(BenchShape s) =>
        SparseAutoencoder.CreateRandom(Backend, new SaeConfig(s.D, s.F, s.K, "topk", SaeConfig.DefaultMatryoshkaWidths(s.F)), seed: 0);

    /// <summary>Frees the SAE and backend.</summary>
    protected void DisposeSae()
    {
        Sae.Dispose();
        Backend.Dispose();
    }
}
