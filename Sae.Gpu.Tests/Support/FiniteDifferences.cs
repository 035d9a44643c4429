namespace SaeGpu.Tests.Support;

/// <summary>Central finite differences of a float64 loss over parameter arrays, for checking analytic gradients.</summary>
public static class FiniteDifferences
{
    /// <summary>(L(p + h·e) − L(p − h·e)) / 2h for element <paramref name="e"/> of parameter <paramref name="t"/> (p is restored).</summary>
    public static double Central(Func<double[][], double> loss, double[][] p, int t, int e, double h = 1e-6)
    {
        double keep = p[t][e];
        p[t][e] = keep + h;
        double up = loss(p);
        p[t][e] = keep - h;
        double down = loss(p);
        p[t][e] = keep;
        return (up - down) / (2 * h);
    }

    /// <summary>The values as float64.</summary>
    public static double[] Doubles(float[] values) => [.. values.Select(v => (double)v)];
}
