using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Architectures;

/// <summary>
/// The two architectures added as one file each: the gated SAE (its code, every gradient against float64 finite differences
/// of an independent loss with a frozen auxiliary decoder) and JumpReLU with the tanh penalty and the pre-activation loss
/// (value, encoder and decoder gradients against finite differences; the pre-activation loss's θ share exactly).
/// </summary>
public class GatedAndTanhTests
{
    private const int B = 5, D = 6, F = 10;
    private const double L1 = 0.05;

    private static float[] Random(int n, int seed, double lo, double hi)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble()))];
    }

    // Gated SAE with non-trivial r_mag and b_mag on `backend`.
    private static SparseAutoencoder Gated(Backend be)
    {
        var sae = SparseAutoencoder.Create(new SaeConfig(D, F, 3, "gated"), be, seed: 4);
        sae.SetParameter("W_enc", Random(F * D, 1, -0.6, 0.6));
        sae.SetParameter("b_enc", Random(F, 2, -0.2, 0.3));
        sae.SetParameter("r_mag", Random(F, 3, -0.5, 0.5));
        sae.SetParameter("b_mag", Random(F, 5, -0.3, 0.3));
        sae.SetParameter("b_dec", Random(D, 6, -0.2, 0.2));
        return sae;
    }

    private static readonly float[] X = Random(B * D, 7, -1, 1.5);

    // Independent float64 gated forward: π, mag, a = 1[π > 0]·ReLU(mag); loss = MSE + λ/B·Σ ReLU(π) + MSE of the gate
    // reconstruction through the decoder frozen at (wDec0, bDec0).
    private static double GatedLoss(double[][] p, double[] wDec0, double[] bDec0, out double[] codes)
    {
        var (wEnc, bEnc, wDec, bDec, r, bMag) = (p[0], p[1], p[2], p[3], p[4], p[5]);
        codes = new double[B * F];
        double mse = 0, l1 = 0, aux = 0;
        for (int b = 0; b < B; b++)
        {
            var xhat = bDec.ToArray();
            var xaux = bDec0.ToArray();
            for (int j = 0; j < F; j++)
            {
                double dot = 0;
                for (int i = 0; i < D; i++) dot += (X[b * D + i] - bDec[i]) * wEnc[j * D + i];
                double pi = dot + bEnc[j], mag = Math.Exp(r[j]) * dot + bMag[j];
                double a = pi > 0 ? Math.Max(0, mag) : 0, g = Math.Max(0, pi);
                codes[b * F + j] = a;
                l1 += g;
                for (int i = 0; i < D; i++) { xhat[i] += a * wDec[j * D + i]; xaux[i] += g * wDec0[j * D + i]; }
            }
            for (int i = 0; i < D; i++)
            {
                mse += Math.Pow(xhat[i] - X[b * D + i], 2);
                aux += Math.Pow(xaux[i] - X[b * D + i], 2);
            }
        }
        return mse / (B * D) + L1 / B * l1 + aux / (B * D);
    }

    [Theory]
    [InlineData("reference")]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Gated_Code_IsTheGateTimesTheMagnitude(string backend)
    {
        using var sae = Gated(TestBackends.ByName(backend));
        double[][] p = [.. sae.ParameterNames.Select(n => FiniteDifferences.Doubles(sae.GetParameter(n)))];
        GatedLoss(p, p[2], p[3], out var expected);
        var dense = new float[B * F];
        sae.Encode(X).ToDense(F, dense);
        Tolerance.AssertClose([.. expected.Select(v => (float)v)], dense, 1e-5, 1e-4, "codes");
        Assert.Contains(expected, v => v > 0);
        Assert.Contains(Enumerable.Range(0, B * F), q => expected[q] == 0 && dense[q] == 0);
    }

    [Theory]
    [InlineData("reference")]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Gated_Gradients_MatchFiniteDifferences_WithAFrozenAuxiliaryDecoder(string backend)
    {
        var be = TestBackends.ByName(backend);
        using var sae = Gated(be);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: B, AuxLoss: AuxLossKind.None,
            ArchitectureOptions: new Dictionary<string, double> { ["l1"] = L1 }));
        double objective = trainer.ComputeGradients(X);
        string[] names = [.. sae.ParameterNames];
        double[][] p = [.. names.Select(n => FiniteDifferences.Doubles(sae.GetParameter(n)))];
        var (wDec0, bDec0) = (p[2].ToArray(), p[3].ToArray());
        double loss = GatedLoss(p, wDec0, bDec0, out _);
        Assert.True(Math.Abs(objective - loss) <= 1e-6 + 1e-4 * loss, $"objective {objective:R}, float64 loss {loss:R}");
        int nonZero = 0;
        for (int t = 0; t < names.Length; t++)
        {
            var analytic = be.ToHost(trainer.Gradient(names[t]));
            for (int e = 0; e < p[t].Length; e++)
            {
                double fd = FiniteDifferences.Central(q => GatedLoss(q, wDec0, bDec0, out _), p, t, e);
                Assert.True(Math.Abs(analytic[e] - fd) <= 1e-5 + 1e-3 * Math.Abs(fd), $"{backend} {names[t]}[{e}]: analytic {analytic[e]:R}, finite difference {fd:R}");
                if (Math.Abs(fd) > 1e-4) nonZero++;
            }
        }
        Assert.True(nonZero > 60, $"only {nonZero} gradient entries were non-zero");
    }

    // JumpReLU with the tanh penalty: the loss MSE + λ/B·Σ tanh(c·a) + μ/(B·d)·Σ_dead ReLU(θ − pre), a = pre·H(pre − θ)·H(pre).
    private sealed class TanhProblem(double lambda, double c, double mu, int[] dead)
    {
        public double Loss(double[][] p)
        {
            var (wEnc, bEnc, wDec, bDec, theta) = (p[0], p[1], p[2], p[3], p[4]);
            double mse = 0, tanh = 0, preAct = 0;
            for (int b = 0; b < B; b++)
            {
                var xhat = bDec.ToArray();
                for (int j = 0; j < F; j++)
                {
                    double pre = bEnc[j];
                    for (int i = 0; i < D; i++) pre += (X[b * D + i] - bDec[i]) * wEnc[j * D + i];
                    double a = pre > theta[j] && pre > 0 ? pre : 0;
                    tanh += Math.Tanh(c * a);
                    if (dead[j] != 0) preAct += Math.Max(0, theta[j] - pre);
                    for (int i = 0; i < D; i++) xhat[i] += a * wDec[j * D + i];
                }
                for (int i = 0; i < D; i++) mse += Math.Pow(xhat[i] - X[b * D + i], 2);
            }
            return mse / (B * D) + lambda / B * tanh + mu / (B * D) * preAct;
        }
    }

    [Theory]
    [InlineData("reference")]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void JumpReluTanh_Gradients_MatchFiniteDifferences_AndThePreActShareOfTheta(string backend)
    {
        var be = TestBackends.ByName(backend);
        const double Lambda = 0.3, C = 2, Mu = 0.8;
        (float[] GTheta, double Objective, double[][] P, int[] Dead) Run(double mu)
        {
            using var sae = SparseAutoencoder.Create(new SaeConfig(D, F, 3, "jumprelu-tanh"), be, seed: 2);
            sae.SetParameter("W_enc", Random(F * D, 11, -0.6, 0.6));
            sae.SetParameter("b_enc", Random(F, 12, -0.3, 0.2));
            sae.SetParameter("threshold", Random(F, 13, 0.05, 0.4));
            // A zero learning rate: the warm-up step only ages the latents (a 1-token window marks the silent ones dead).
            using var trainer = new Trainer(sae, new TrainConfig(BatchSize: B, Steps: 2, LearningRate: 1e-30, WarmupSteps: 0, DeadAfterTokens: 1,
                AuxLoss: AuxLossKind.None, InitializeDecoderBias: false, ArchitectureOptions: new Dictionary<string, double>
                    { ["l0"] = Lambda, ["tanh-scale"] = C, ["pre-act-coef"] = mu, ["sparsity-rate"] = 0 }));
            trainer.Step(X);
            var dead = trainer.Dead.DeadMask();
            double objective = trainer.ComputeGradients(X);
            double[][] p = [.. sae.ParameterNames.Select(n => FiniteDifferences.Doubles(sae.GetParameter(n)))];
            var result = (be.ToHost(trainer.Gradient("threshold")), objective, p, dead);
            foreach (string name in new[] { "W_enc", "b_enc", "W_dec", "b_dec" })
            {
                var analytic = be.ToHost(trainer.Gradient(name));
                int t = Array.IndexOf(sae.ParameterNames.ToArray(), name);
                var problem = new TanhProblem(Lambda, C, mu, dead);
                for (int e = 0; e < p[t].Length; e++)
                {
                    double fd = FiniteDifferences.Central(problem.Loss, p, t, e);
                    Assert.True(Math.Abs(analytic[e] - fd) <= 1e-5 + 1e-3 * Math.Abs(fd), $"{backend} μ {mu} {name}[{e}]: analytic {analytic[e]:R}, finite difference {fd:R}");
                }
            }
            return result;
        }
        var (a, objective, p, dead) = Run(Mu);
        var (b, _, _, _) = Run(0);
        Assert.Contains(dead, v => v != 0);
        double loss = new TanhProblem(Lambda, C, Mu, dead).Loss(p);
        Assert.True(Math.Abs(objective - loss) <= 1e-6 + 1e-4 * loss, $"objective {objective:R}, float64 loss {loss:R}");
        // The pre-activation loss adds μ/(B·d) to ∂L/∂θ_j for each token where a dead latent's pre is below θ_j.
        for (int j = 0; j < F; j++)
        {
            double below = 0;
            for (int r = 0; r < B; r++)
            {
                double pre = p[1][j];
                for (int i = 0; i < D; i++) pre += (X[r * D + i] - p[3][i]) * p[0][j * D + i];
                if (dead[j] != 0 && pre < p[4][j]) below++;
            }
            Assert.True(Math.Abs(a[j] - b[j] - Mu / (B * D) * below) <= 1e-6, $"θ[{j}]: {a[j] - b[j]:R} vs {Mu / (B * D) * below:R}");
        }
    }
}
