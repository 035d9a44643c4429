using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Evaluation;

/// <summary>Dark-matter analysis: the float64 least squares, the report on SAEs with known error structure, gradient pursuit.</summary>
public class DarkMatterTests
{
    private const int D = 8;

    private static float[] RandomRows(int rows, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, rows * D).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
    }

    [Fact]
    public void LeastSquares_RecoversAKnownLinearMap()
    {
        var rng = new Random(1);
        var w = Enumerable.Range(0, 3 * 2).Select(_ => rng.NextDouble() - 0.5).ToArray();
        var ls = new LeastSquares(3, 2);
        for (int t = 0; t < 50; t++)
        {
            double[] x = [rng.NextDouble(), rng.NextDouble() - 0.5, rng.NextDouble() * 3];
            ls.Add(x, [x[0] * w[0] + x[1] * w[2] + x[2] * w[4], x[0] * w[1] + x[1] * w[3] + x[2] * w[5]]);
        }
        var fit = ls.Solve();
        for (int i = 0; i < w.Length; i++) Assert.Equal(w[i], fit[i], 8);
        Assert.Equal(50, ls.Rows);
    }

    [Fact]
    public void Report_OfAnSaeThatEncodesNothing_FindsItsErrorFullyLinear()
    {
        // Zero encoder: no latent fires, x̂ = b_dec = 0, so e = x = I·x exactly.
        using var sae = SparseAutoencoder.FromWeights(TestBackends.Cpu, new SaeConfig(D, 16, 2), new float[16 * D], new float[16],
            SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, 16, 2), 1).ToHost().WDec, new float[D]);
        var r = DarkMatterReport.Measure(sae, RandomRows(400, 2));
        Assert.Equal(1.0, r.ErrorR2, 6);
        Assert.Equal(1.0, r.PredictableFraction, 6);
        Assert.Equal(1.0, r.LinearShare, 6);
        Assert.True(r.NonlinearFvu < 1e-6, $"nonlinear FVU {r.NonlinearFvu}");
        Assert.Equal(200, r.FitTokens);
    }

    [Fact]
    public void Report_OfATrainedSae_SplitsItsErrorIntoOrthogonalParts()
    {
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: D, Features: 16, MeanActive: 2, Seed: 3));
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, 32, 2), seed: 4);
        using (var trainer = new Trainer(sae, new TrainConfig(BatchSize: 256, Steps: 200))) TrainLoop.Run(trainer, data);
        var x = new float[2000 * D];
        new SyntheticActivations(data.Options with { StreamSeed = 9 }).NextBatch(x);
        var r = DarkMatterReport.Measure(sae, x);
        // Least squares makes the residual orthogonal to the fit: Σ‖e‖² = Σ‖W*x‖² + Σ‖e − W*x‖².
        Assert.Equal(1.0, r.LinearShare + r.NonlinearShare, 6);
        Assert.InRange(r.ErrorR2, -0.5, 1);
        Assert.InRange(r.NormR2, -0.5, 1);
        Assert.True(r.NonlinearFvu <= r.Fvu + 1e-12, $"nonlinear FVU {r.NonlinearFvu} above FVU {r.Fvu}");
        Assert.True(r.Fvu < 0.6, $"FVU {r.Fvu}: the SAE did not learn");
    }

    [Fact]
    public void GradientPursuit_RecoversAnExactSparseCode_OverOrthonormalAtoms()
    {
        var w = new float[D * D];
        for (int i = 0; i < D; i++) w[i * D + i] = 1;
        float[] b = [.. Enumerable.Range(0, D).Select(i => 0.1f * i)];
        var x = b.ToArray();
        (x[1], x[5]) = (x[1] + 3, x[5] - 2);
        Tolerance.AssertClose(x, GradientPursuit.Reconstruct(w, b, x, 2, nonNegative: false), 1e-6, 1e-6, "x̂");
        var one = GradientPursuit.Reconstruct(w, b, x, 1, nonNegative: false);
        Assert.Equal(x[5] + 2, one[5], 5); // with one latent only the larger component (3 on atom 1) is kept
        // Non-negative: the −2 on atom 5 is outside the code space, so even two latents reconstruct only the +3 on atom 1.
        var cone = GradientPursuit.Reconstruct(w, b, x, 2, nonNegative: true);
        Assert.Equal(x[1], cone[1], 5);
        Assert.Equal(b[5], cone[5], 5);
    }

    [Fact]
    public void GradientPursuit_NonNegative_KeepsEveryCodeAtLeastZero_AndReconstructsFromIt()
    {
        const int d = 12, f = 40, t = 64;
        var rng = new Random(4);
        float[] w = [.. Enumerable.Range(0, f * d).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        for (int j = 0; j < f; j++)
        {
            var row = w.AsSpan(j * d, d);
            float n = MathF.Sqrt(row.ToArray().Sum(v => v * v));
            foreach (ref float v in row) v /= n;
        }
        float[] b = new float[d], x = [.. Enumerable.Range(0, t * d).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
        var (codes, xhat) = GradientPursuit.Run(w, b, x, 6, nonNegative: true);
        var (signed, _) = GradientPursuit.Run(w, b, x, 6, nonNegative: false);
        Assert.All(codes, c => Assert.All(c, e => Assert.True(e.Value >= 0, $"latent {e.Latent} coded {e.Value}")));
        Assert.Contains(signed, c => c.Any(e => e.Value < 0)); // the signed pursuit does use negative codes on this data
        for (int r = 0; r < t; r++)
        {
            var sum = new float[d];
            foreach (var (j, v) in codes[r]) for (int i = 0; i < d; i++) sum[i] += v * w[j * d + i];
            Tolerance.AssertClose(sum, xhat.AsSpan(r * d, d), 1e-4, 1e-3, $"token {r}");
            Assert.True(codes[r].Count <= 6);
        }
        Assert.True(Metrics.Fvu(x, xhat, d) < 0.9, "the non-negative pursuit explains part of the data");
    }

    [Fact]
    public void GradientPursuit_ThrowsForZeroK() =>
        Assert.Contains("k ≥ 1", Assert.Throws<ArgumentException>(() => GradientPursuit.Reconstruct(new float[4], new float[2], new float[2], 0, false)).Message);

    [Fact]
    public void ErrorNormComparison_OfAnSaeWithItself_IsPerfectlyCorrelated()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, 16, 2), seed: 5);
        var c = ErrorNormComparison.Measure(sae, sae, RandomRows(300, 6));
        Assert.Equal(1.0, c.NormCorrelation, 9);
        Assert.Equal(1.0, c.NonlinearNormCorrelation, 9);
        Assert.Equal(c.MeanNormA, c.MeanNormB);
    }

    [Fact]
    public void Report_ThrowsWhenTheSplitLeavesNoHeldOutTokens()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, 16, 2), seed: 5);
        Assert.Contains("fitFraction", Assert.Throws<ArgumentException>(() => DarkMatterReport.Measure(sae, RandomRows(10, 1), 1.0)).Message);
    }
}
