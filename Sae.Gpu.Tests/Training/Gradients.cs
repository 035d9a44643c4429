using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>
/// The whole sparse backward (ValueGrad with its L1 shift, both AggregateByLatent uses, DecoderBiasGrad, the error's scale,
/// the AuxK term, Matryoshka's weighted prefix loss, vSAE's KL term) against central finite differences of the loss
/// evaluated independently in float64; written once and run per backend (one subclass each).
/// </summary>
public abstract class Gradients(string backend)
{
    private const int B = 5, D = 6, F = 10, K = 3, KAux = 2;
    private const double L1 = 0.05, Alpha = 0.5;

    [Theory]
    [InlineData("topk")]
    [InlineData("abstopk")]
    [InlineData("relu")]
    public void Backward_MatchesFiniteDifferences(string arch)
    {
        var config = new TrainConfig(BatchSize: B, Steps: 1, AuxLoss: AuxLossKind.None, ArchitectureOptions: ArchOptions.For(arch, ("l1", L1)));
        CheckAgainstFiniteDifferences(arch, config, warmUpSteps: 0);
    }

    [Fact]
    public void Backward_WithAuxK_MatchesFiniteDifferences()
    {
        // One step with a 1-token dead window marks every latent that did not fire as dead, so the second pass runs AuxK.
        var config = new TrainConfig(BatchSize: B, Steps: 2, AuxLoss: AuxLossKind.AuxK, AuxK: KAux, AuxCoefficient: Alpha, DeadAfterTokens: 1);
        CheckAgainstFiniteDifferences("topk", config, warmUpSteps: 1, seed: AuxSeed);
    }

    // An initialization under which a latent stays silent in the warm-up step, so AuxK has a dead latent to select (the
    // test asserts this); with the default seed all 10 latents fire.
    private const int AuxSeed = 6;

    [Theory]
    [InlineData("topk")]
    [InlineData("abstopk")]
    public void Backward_Matryoshka_MatchesFiniteDifferences(string arch)
    {
        var config = new TrainConfig(BatchSize: B, Steps: 1, AuxLoss: AuxLossKind.None, PrefixWeights: PrefixWeights);
        CheckAgainstFiniteDifferences(arch, config, warmUpSteps: 0, Widths);
    }

    [Fact]
    public void Backward_VSaeKlTerm_MatchesFiniteDifferences()
    {
        // σ = 0 makes the sampled code the mean, so the loss is deterministic: MSE + λ·2/(B·d)·Σ ½μ² over kept latents.
        var config = new TrainConfig(BatchSize: B, Steps: 1, AuxLoss: AuxLossKind.None,
            ArchitectureOptions: new Dictionary<string, double> { ["posterior-sigma"] = 0, ["kl"] = Kl });
        CheckAgainstFiniteDifferences("vsae", config, warmUpSteps: 0);
    }

    private const double Kl = 0.7;

    private static readonly int[] Widths = [2, 6, F];
    private static readonly double[] PrefixWeights = [0.5, 1, 2.5];

    private void CheckAgainstFiniteDifferences(string arch, TrainConfig config, int warmUpSteps, int[]? widths = null, int seed = 5)
    {
        var be = TestBackends.ByName(backend);
        var rng = new Random(3);
        var x = Enumerable.Range(0, B * D).Select(_ => (float)(rng.NextDouble() * 2 - 0.5)).ToArray();
        using var sae = SparseAutoencoder.CreateRandom(be, new SaeConfig(D, F, K, arch, widths), seed);
        be.Upload<float>(Enumerable.Range(0, F).Select(_ => (float)(rng.NextDouble() * 0.4 - 0.1)).ToArray(), sae.BEnc);
        using var trainer = new Trainer(sae, config);
        for (int s = 0; s < warmUpSteps; s++) trainer.Step(x);
        var deadMask = trainer.Dead.DeadMask();
        double objective = trainer.ComputeGradients(x);
        var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
        double[][] p = [.. new[] { wEnc, bEnc, wDec, bDec }.Select(FiniteDifferences.Doubles)];
        var problem = new Problem(arch, arch == "relu" ? trainer.SparsityCoefficient!.Value : 0,
            config.AuxLoss == AuxLossKind.AuxK ? deadMask : null, x, widths);
        problem.DetachResidual(p);
        if (problem.AuxMask is not null) Assert.True(problem.AuxActive(p), "the AuxK case selects no dead latent: it tests nothing");
        // ComputeGradients returns the objective it differentiates (weighted prefix losses, L1, KL and AuxK terms included).
        double expected = problem.Loss(p);
        Assert.True(Math.Abs(objective - expected) <= 1e-6 + 1e-4 * Math.Abs(expected), $"{backend} {arch}: objective {objective:R}, float64 loss {expected:R}");
        float[][] analytic = [be.ToHost(trainer.GradWEnc), be.ToHost(trainer.GradBEnc), be.ToHost(trainer.GradWDec), be.ToHost(trainer.GradBDec)];
        string[] names = ["W_enc", "b_enc", "W_dec", "b_dec"];
        int nonZero = 0;
        for (int t = 0; t < 4; t++)
            for (int e = 0; e < p[t].Length; e++)
            {
                double fd = problem.FiniteDifference(p, t, e);
                double a = analytic[t][e];
                Assert.True(Math.Abs(a - fd) <= 1e-5 + 1e-3 * Math.Abs(fd), $"{backend} {arch} {names[t]}[{e}]: analytic {a:R}, finite difference {fd:R}");
                if (Math.Abs(fd) > 1e-4) nonZero++;
            }
        Assert.True(nonZero > 40, $"only {nonZero} gradient entries were non-zero: the case does not exercise the backward");
    }

    /// <summary>
    /// Independent float64 forward: pre, selection, decode, element-MSE (Matryoshka: Σ_i w_i·MSE of each prefix decode, weights
    /// normalized), L1 term and the AuxK term.
    /// </summary>
    private sealed class Problem(string arch, double l1, int[]? auxMask, float[] x, int[]? widths)
    {
        private double[] residual = [];

        public int[]? AuxMask => auxMask;

        public void DetachResidual(double[][] p)
        {
            residual = new double[B * D];
            for (int r = 0; r < B; r++)
            {
                var (_, xhat) = Row(p, r);
                for (int i = 0; i < D; i++) residual[r * D + i] = x[r * D + i] - xhat[i];
            }
        }

        public bool AuxActive(double[][] p) => Enumerable.Range(0, B).Any(r => AuxSelect(Pre(p, r)).Any());

        public double FiniteDifference(double[][] p, int t, int e) => FiniteDifferences.Central(Loss, p, t, e);

        public double Loss(double[][] p)
        {
            double mse = 0, l1Sum = 0;
            int[] ends = widths ?? [F];
            double[] weights = widths is null ? [1] : [.. PrefixWeights.Select(w => w / PrefixWeights.Sum())];
            for (int r = 0; r < B; r++)
            {
                var (codes, _) = Row(p, r);
                for (int g = 0; g < ends.Length; g++)
                {
                    var xhat = Decode(p, codes.Where(c => c.Latent < ends[g]));
                    for (int i = 0; i < D; i++) mse += weights[g] * (xhat[i] - x[r * D + i]) * (xhat[i] - x[r * D + i]);
                }
                l1Sum += codes.Sum(c => c.Value);
            }
            double kl = arch == "vsae" ? Kl * 2.0 / (B * D) * Enumerable.Range(0, B).Sum(r => Row(p, r).Codes.Sum(c => c.Value * c.Value / 2)) : 0;
            return mse / (B * D) + l1 / B * l1Sum + kl + (auxMask is null ? 0 : Alpha * AuxLoss(p));
        }

        private static double[] Decode(double[][] p, IEnumerable<(int Latent, double Value)> codes)
        {
            var xhat = p[3].ToArray();
            foreach (var (j, v) in codes) for (int i = 0; i < D; i++) xhat[i] += v * p[2][j * D + i];
            return xhat;
        }

        private double[] Pre(double[][] p, int r)
        {
            var (wEnc, bEnc, bDec) = (p[0], p[1], p[3]);
            var pre = new double[F];
            for (int j = 0; j < F; j++)
            {
                pre[j] = bEnc[j];
                for (int i = 0; i < D; i++) pre[j] += (x[r * D + i] - bDec[i]) * wEnc[j * D + i];
            }
            return pre;
        }

        private (List<(int Latent, double Value)> Codes, double[] Xhat) Row(double[][] p, int r)
        {
            var pre = Pre(p, r);
            var chosen = arch switch
            {
                "abstopk" => Enumerable.Range(0, F).Where(j => pre[j] != 0).OrderByDescending(j => Math.Abs(pre[j])).ThenBy(j => j).Take(K),
                "relu" => Enumerable.Range(0, F).Where(j => pre[j] > 0),
                _ => Enumerable.Range(0, F).Where(j => pre[j] > 0).OrderByDescending(j => pre[j]).ThenBy(j => j).Take(K),
            };
            var codes = chosen.Select(j => (j, pre[j])).ToList();
            return (codes, Decode(p, codes));
        }

        private IEnumerable<int> AuxSelect(double[] pre) =>
            Enumerable.Range(0, F).Where(j => auxMask![j] != 0 && pre[j] > 0).OrderByDescending(j => pre[j]).ThenBy(j => j).Take(KAux);

        // L_aux = Σ‖e − ê‖² / Σ‖e − ē‖² with e detached and ê = TopK_kaux(ReLU(pre on dead latents))·W_dec.
        private double AuxLoss(double[][] p)
        {
            double num = 0, den = 0;
            var mean = new double[D];
            for (int q = 0; q < B * D; q++) mean[q % D] += residual[q] / B;
            for (int r = 0; r < B; r++)
            {
                var pre = Pre(p, r);
                var eHat = new double[D];
                foreach (int j in AuxSelect(pre)) for (int i = 0; i < D; i++) eHat[i] += pre[j] * p[2][j * D + i];
                for (int i = 0; i < D; i++)
                {
                    double e = residual[r * D + i];
                    num += (e - eHat[i]) * (e - eHat[i]);
                    den += (e - mean[i]) * (e - mean[i]);
                }
            }
            return num / den;
        }
    }
}

/// <summary>The backward on the scalar reference.</summary>
public sealed class GradientsOnReference() : Gradients("reference");

/// <summary>The backward on the SIMD CPU path.</summary>
public sealed class GradientsOnCpu() : Gradients("cpu");

/// <summary>The backward on ILGPU's CPU accelerator.</summary>
public sealed class GradientsOnIlgpuCpu() : Gradients("ilgpu-cpu");

/// <summary>The backward on a CUDA device; skipped where there is none.</summary>
public sealed class GradientsOnCuda : Gradients
{
    public GradientsOnCuda() : base("cuda") => TestBackends.SkipWithoutCuda();
}
