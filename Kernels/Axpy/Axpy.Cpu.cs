namespace SaeGpu.Kernels;

internal static partial class Axpy
{
    /// <summary>Fast CPU path: Vector256 FMA (<see cref="Simd.Axpy"/>) over chunks of whole vectors in parallel.</summary>
    public static unsafe void Cpu(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        fixed (float* px = x) fixed (float* py = y)
        {
            float* a = px, b = py;
            Simd.ParallelVectorChunks(y.Length, (lo, hi) => Simd.Axpy(alpha, new ReadOnlySpan<float>(a + lo, hi - lo), new Span<float>(b + lo, hi - lo)), 1 << 14);
        }
    }
}
