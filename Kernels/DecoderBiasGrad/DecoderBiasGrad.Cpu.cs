using System.Buffers;

namespace SaeGpu.Kernels;

public static partial class DecoderBiasGrad
{
    /// <summary>Fast CPU path: row blocks in parallel accumulate partial [d] vectors with Vector256 axpy; partials are summed.</summary>
    public static void Cpu(ReadOnlySpan<float> gOut, ReadOnlySpan<float> gbEnc, ReadOnlySpan<float> wEnc, Span<float> gbDec)
    {
        int d = gbDec.Length, b = gOut.Length / d, f = gbEnc.Length, parts = Environment.ProcessorCount;
        float[] partial = ArrayPool<float>.Shared.Rent(parts * d);
        try
        {
            Array.Clear(partial, 0, parts * d);
            unsafe
            {
                fixed (float* pg = gOut) fixed (float* pe = gbEnc) fixed (float* pw = wEnc)
                {
                    var job = new Job(pg, pe, pw, partial, b, d, f, parts);
                    Parallel.For(0, parts, job.Part);
                }
            }
            gbDec.Clear();
            for (int t = 0; t < parts; t++) Simd.Axpy(1f, partial.AsSpan(t * d, d), gbDec);
        }
        finally { ArrayPool<float>.Shared.Return(partial); }
    }

    private readonly unsafe struct Job(float* gOut, float* gbEnc, float* wEnc, float[] partial, int b, int d, int f, int parts)
    {
        public void Part(int t)
        {
            var acc = partial.AsSpan(t * d, d);
            for (int r = b * t / parts; r < b * (t + 1) / parts; r++) Simd.Axpy(1f, new ReadOnlySpan<float>(gOut + (long)r * d, d), acc);
            for (int j = f * t / parts; j < f * (t + 1) / parts; j++)
                if (gbEnc[j] != 0) Simd.Axpy(-gbEnc[j], new ReadOnlySpan<float>(wEnc + (long)j * d, d), acc);
        }
    }
}
