namespace SaeGpu.Kernels;

/// <summary>
/// Adam update, in place, element-wise over param, grad, m, v (all [n]):
/// <c>m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; param ← param − lr · (m / bc1) / (√(v / bc2) + ε)</c>,
/// with bias corrections bc1 = 1 − β1^t and bc2 = 1 − β2^t supplied by the caller for step t ≥ 1.
/// </summary>
internal static partial class Adam
{
    /// <summary>Hyper-parameters and bias corrections of one Adam step.</summary>
    /// <param name="Lr">Learning rate of this step.</param>
    /// <param name="Beta1">First-moment decay β1.</param>
    /// <param name="Beta2">Second-moment decay β2.</param>
    /// <param name="Eps">ε added to √v̂.</param>
    /// <param name="Bc1">1 − β1^t.</param>
    /// <param name="Bc2">1 − β2^t.</param>
    public readonly record struct Step(float Lr, float Beta1, float Beta2, float Eps, float Bc1, float Bc2);

    /// <summary>Scalar oracle in float64.</summary>
    public static void Reference(ReadOnlySpan<float> grad, Step s, Span<float> param, Span<float> m, Span<float> v)
    {
        for (int e = 0; e < param.Length; e++)
        {
            double g = grad[e];
            double mm = (double)s.Beta1 * m[e] + (1.0 - s.Beta1) * g;
            double vv = (double)s.Beta2 * v[e] + (1.0 - s.Beta2) * g * g;
            m[e] = (float)mm;
            v[e] = (float)vv;
            param[e] = (float)(param[e] - s.Lr * (mm / s.Bc1) / (Math.Sqrt(vv / s.Bc2) + s.Eps));
        }
    }
}
