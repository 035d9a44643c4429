using ILGPU;

namespace SaeGpu.Kernels;

internal static partial class Adam
{
    /// <summary>One thread per element.</summary>
    public static void GpuV1(Index1D e, ArrayView<float> grad, ArrayView<float> param, ArrayView<float> m, ArrayView<float> v, Step s)
    {
        float g = grad[e];
        float mm = s.Beta1 * m[e] + (1f - s.Beta1) * g;
        float vv = s.Beta2 * v[e] + (1f - s.Beta2) * g * g;
        m[e] = mm;
        v[e] = vv;
        param[e] -= s.Lr / s.Bc1 * mm / (MathF.Sqrt(vv / s.Bc2) + s.Eps);
    }
}
