namespace SaeGpu.Kernels;

/// <summary>In place <c>y[i] += α·x[i]</c> over the common length [n] (vSAE: the KL gradient 2λ/(B·d)·μ and the posterior noise σ·ξ).</summary>
internal static partial class Axpy
{
    /// <summary>Scalar oracle (float64 product).</summary>
    public static void Reference(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++) y[i] = (float)(y[i] + (double)alpha * x[i]);
    }
}
