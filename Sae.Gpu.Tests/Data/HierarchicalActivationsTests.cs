using SaeGpu.Data;
using Xunit;

namespace SaeGpu.Tests.Data;

/// <summary>The hierarchical source keeps its tree rules: children fire only with their parent, at most one child at a time.</summary>
public class HierarchicalActivationsTests
{
    private static readonly HierarchyOptions Options = new(InputDim: 24, Trees: 4, Branching: 3, Levels: 3, RootProbability: 0.4,
        ChildProbability: 0.7, ParentCosine: 0.3, Seed: 3);

    [Fact]
    public void Tree_HasTheConfiguredShape()
    {
        var source = new HierarchicalActivations(Options);
        Assert.Equal(4 * (1 + 3 + 9), source.Features);
        Assert.Equal(4, source.Level.Count(l => l == 0));
        Assert.Equal(36, source.Level.Count(l => l == 2));
        for (int f = 0; f < source.Features; f++)
        {
            Assert.Equal(source.Level[f] == 0, source.Parent[f] < 0);
            foreach (int c in source.Children(f))
            {
                Assert.Equal(f, source.Parent[c]);
                Assert.Equal(source.Level[f] + 1, source.Level[c]);
            }
        }
    }

    [Fact]
    public void Directions_AreUnit_AndChildrenHaveTheConfiguredCosineToTheirParent()
    {
        var source = new HierarchicalActivations(Options);
        int d = Options.InputDim;
        double Dot(int a, int b) => Enumerable.Range(0, d).Sum(i => (double)source.Directions[a * d + i] * source.Directions[b * d + i]);
        for (int f = 0; f < source.Features; f++)
        {
            Assert.Equal(1.0, Dot(f, f), 5);
            if (source.Parent[f] >= 0) Assert.Equal(0.3, Dot(f, source.Parent[f]), 5);
        }
    }

    [Fact]
    public void Tokens_FollowTheTree_AndMatchTheActiveFlags()
    {
        var source = new HierarchicalActivations(Options with { Noise = 0, Offset = 0 });
        int b = 4000, d = Options.InputDim, n = source.Features;
        var x = new float[b * d];
        var active = new byte[b * n];
        source.NextBatch(x, active);
        int childTokens = 0;
        for (int t = 0; t < b; t++)
        {
            var row = active[(t * n)..((t + 1) * n)];
            for (int f = 0; f < n; f++)
            {
                if (row[f] != 0 && source.Parent[f] >= 0) Assert.True(row[source.Parent[f]] != 0, $"token {t}: child {f} without its parent");
                int firing = source.Children(f).Count(c => row[c] != 0);
                Assert.True(firing <= 1, $"token {t}: {firing} children of {f}");
                childTokens += firing;
            }
            // Unit coefficients, no noise or offset: the token is exactly the sum of the active directions.
            for (int i = 0; i < d; i++)
            {
                double expected = Enumerable.Range(0, n).Where(f => row[f] != 0).Sum(f => (double)source.Directions[f * d + i]);
                Assert.True(Math.Abs(expected - x[t * d + i]) < 1e-5, $"token {t}[{i}]: {x[t * d + i]} vs {expected}");
            }
        }
        Assert.True(childTokens > 0);
        double meanActive = active.Sum(a => (double)a) / b;
        Assert.InRange(meanActive, 0.9 * Options.MeanActive, 1.1 * Options.MeanActive);
    }

    [Fact]
    public void SameSeed_GivesTheSameStream()
    {
        var (a, b) = (new float[10 * 24], new float[10 * 24]);
        new HierarchicalActivations(Options).NextBatch(a);
        new HierarchicalActivations(Options).NextBatch(b);
        Assert.Equal(a, b);
    }

    [Fact]
    public void NextBatch_ThrowsForWrongActiveLength() =>
        Assert.Contains("B·N", Assert.Throws<ArgumentException>(() => new HierarchicalActivations(Options).NextBatch(new float[48], new byte[5])).Message);

    [Fact]
    public void Options_ThrowsForBadChildProbability() =>
        Assert.Contains("ChildProbability", Assert.Throws<ArgumentException>(() => (Options with { ChildProbability = 1.5 }).Validate()).Message);

    [Fact]
    public void Options_ThrowsForParentCosineOfOne() =>
        Assert.Contains("ParentCosine", Assert.Throws<ArgumentException>(() => (Options with { ParentCosine = 1 }).Validate()).Message);

    [Fact]
    public void Options_ThrowsForZeroLevels() =>
        Assert.Contains("Levels", Assert.Throws<ArgumentException>(() => (Options with { Levels = 0 }).Validate()).Message);
}
