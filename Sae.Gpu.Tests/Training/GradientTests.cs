using SaeGpu.Model;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Training;

/// <summary>
/// The whole sparse backward (ValueGrad, both AggregateByLatent uses, DecoderBiasGrad, the error's scale) against central
/// finite differences of the loss L = Σ‖x̂ − x‖² / (B·d) evaluated independently in float64.
/// </summary>
public class GradientTests
{
    private const int B = 5, D = 6, F = 10, K = 3;

    [Theory]
    [InlineData("reference")]
    [InlineData("cpu")]
    [InlineData("gpu")]
    public void Backward_MatchesFiniteDifferences(string backend)
    {
        var be = TestBackends.ByName(backend);
        var rng = new Random(3);
        var x = Enumerable.Range(0, B * D).Select(_ => (float)(rng.NextDouble() * 2 - 0.5)).ToArray();
        using var sae = Sae.CreateRandom(be, new SaeConfig(D, F, K), seed: 5);
        be.Upload<float>(Enumerable.Range(0, F).Select(_ => (float)(rng.NextDouble() * 0.4 - 0.1)).ToArray(), sae.BEnc);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: B, Steps: 1));
        trainer.ComputeGradients(x);
        var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
        double[][] p = [Doubles(wEnc), Doubles(bEnc), Doubles(wDec), Doubles(bDec)];
        float[][] analytic = [be.ToHost(trainer.GradWEnc), be.ToHost(trainer.GradBEnc), be.ToHost(trainer.GradWDec), be.ToHost(trainer.GradBDec)];
        string[] names = ["W_enc", "b_enc", "W_dec", "b_dec"];
        int checkedNonZero = 0;
        for (int t = 0; t < 4; t++)
            for (int e = 0; e < p[t].Length; e++)
            {
                double fd = FiniteDifference(p, t, e, x);
                double a = analytic[t][e];
                Assert.True(Math.Abs(a - fd) <= 1e-5 + 1e-3 * Math.Abs(fd), $"{backend} {names[t]}[{e}]: analytic {a:R}, finite difference {fd:R}");
                if (Math.Abs(fd) > 1e-4) checkedNonZero++;
            }
        Assert.True(checkedNonZero > 40, $"only {checkedNonZero} gradient entries were non-zero: the case does not exercise the backward");
    }

    private static double FiniteDifference(double[][] p, int t, int e, float[] x)
    {
        const double h = 1e-6;
        double keep = p[t][e];
        p[t][e] = keep + h;
        double up = Loss(p, x);
        p[t][e] = keep - h;
        double down = Loss(p, x);
        p[t][e] = keep;
        return (up - down) / (2 * h);
    }

    /// <summary>Independent float64 forward: pre, TopK on ReLU(pre), decode, element-MSE.</summary>
    private static double Loss(double[][] p, float[] x)
    {
        var (wEnc, bEnc, wDec, bDec) = (p[0], p[1], p[2], p[3]);
        double loss = 0;
        for (int r = 0; r < B; r++)
        {
            var pre = new double[F];
            for (int j = 0; j < F; j++)
            {
                pre[j] = bEnc[j];
                for (int i = 0; i < D; i++) pre[j] += (x[r * D + i] - bDec[i]) * wEnc[j * D + i];
            }
            var active = Enumerable.Range(0, F).Where(j => pre[j] > 0).OrderByDescending(j => pre[j]).ThenBy(j => j).Take(K);
            var xhat = bDec.ToArray();
            foreach (int j in active) for (int i = 0; i < D; i++) xhat[i] += pre[j] * wDec[j * D + i];
            for (int i = 0; i < D; i++) loss += (xhat[i] - x[r * D + i]) * (xhat[i] - x[r * D + i]);
        }
        return loss / (B * D);
    }

    private static double[] Doubles(float[] a) => [.. a.Select(v => (double)v)];
}
