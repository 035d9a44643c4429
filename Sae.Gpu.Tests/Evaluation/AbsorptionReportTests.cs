using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Evaluation;

/// <summary>
/// The absorption metric on hand-built SAEs over one tree (a root that always fires, three children orthogonal to it): decoder
/// rows are the true directions, and encoder rows favour the children 2:1. With k = 1 a firing child's latent wins and the root's
/// latent goes quiet exactly when a child fires (absorption 1, miss alone 0); with k = 2 both fire (absorption 0).
/// </summary>
public class AbsorptionReportTests
{
    private static readonly HierarchyOptions Tree = new(InputDim: 32, Trees: 1, Branching: 3, Levels: 2, RootProbability: 1,
        ChildProbability: 0.5, ParentCosine: 0, Noise: 0, Offset: 0, Seed: 2);

    private static AbsorptionReport Measure(int k, bool rootLearned = true)
    {
        var source = new HierarchicalActivations(Tree);
        int d = Tree.InputDim, f = source.Features;
        var wDec = source.Directions.ToArray();
        // Unlearned root: its decoder row (row 0) points away from every true direction (the tree's are orthogonal).
        if (!rootLearned) for (int i = 0; i < d; i++) wDec[i] = i == d - 1 ? 1f : 0f;
        var wEnc = wDec.Select((v, e) => e < d ? v : 2 * v).ToArray();
        using var sae = SparseAutoencoder.FromWeights(TestBackends.Cpu, new SaeConfig(d, f, k), wEnc, new float[f], wDec, new float[d]);
        return AbsorptionReport.Measure(sae, source, 2000);
    }

    [Fact]
    public void ChildLatentTakingOverTheParent_IsFullAbsorption()
    {
        var r = Measure(k: 1);
        Assert.Equal(1, r.ParentsMeasured);
        Assert.Equal(1.0, r.Absorption, 9);
        Assert.Equal(0.0, r.MissAlone, 9);
        Assert.Equal(1.0, r.Recovery.RecoveredFraction, 9);
        Assert.Equal(1.0, r.L0, 9);
    }

    [Fact]
    public void ParentWithoutALatentNearIt_IsUnmatched_NotScored()
    {
        var r = Measure(k: 1, rootLearned: false);
        Assert.Equal(1, r.ParentsUnmatched);
        Assert.Equal(0, r.ParentsMeasured);
        Assert.True(double.IsNaN(r.Absorption) && double.IsNaN(r.MissAlone), "an unmatched parent must not be scored");
        Assert.Equal(0, Measure(k: 1).ParentsUnmatched);
    }

    [Fact]
    public void ParentAndChildLatentsBothFiring_IsNoAbsorption()
    {
        var r = Measure(k: 2);
        Assert.Equal(0.0, r.Absorption, 9);
        Assert.Equal(0.0, r.MissAlone, 9);
        Assert.Equal(2, r.Levels.Count);
        Assert.All(r.Levels, l => Assert.Equal(1.0, l.RecoveredFraction, 9));
        Assert.Equal(2.0, r.L0, 9);
    }
}
