using SaeGpu.Compute;
using SaeGpu.Model;

namespace SaeGpu.Benchmarks;

/// <summary>A benchmark shape written "d x F x k x B", and a CPU-backend SAE of that shape.</summary>
public sealed record BenchShape(int D, int F, int K, int B)
{
    /// <summary>Parses "768x16384x32x4096".</summary>
    public static BenchShape Parse(string s)
    {
        var p = s.Split('x').Select(int.Parse).ToArray();
        return new BenchShape(p[0], p[1], p[2], p[3]);
    }

    /// <summary>A seeded random SAE of this shape on <paramref name="backend"/>.</summary>
    public Sae CreateSae(Backend backend) => Sae.CreateRandom(backend, new SaeConfig(D, F, K), seed: 0);
}
