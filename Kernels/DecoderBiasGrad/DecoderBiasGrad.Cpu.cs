using System.Buffers;

namespace SaeGpu.Kernels;

internal static partial class DecoderBiasGrad
{
    /// <summary>
    /// Blocks of rows (and of latents) of the CPU path, whose partial sums are added in block order: a fixed count, not the
    /// number of cores, so the sum's order — and with it a seeded training run — is the same on every machine. Two are
    /// enough: the op streams W_enc and gOut once, so memory bandwidth, not the core count, bounds it. Each block takes
    /// whole rows rather than a slice of every row's columns, so no core's prefetches fetch lines that belong to another.
    /// </summary>
    public const int CpuParts = 2;

    /// <summary>
    /// Fast CPU path: <see cref="CpuParts"/> row blocks in parallel, each accumulating its rows of gOut and
    /// −gbEnc[j]·W_enc[j] over its block of latents into a partial [d] with Vector256 axpy; the partials are summed in
    /// block order.
    /// </summary>
    public static void Cpu(ReadOnlySpan<float> gOut, ReadOnlySpan<float> gbEnc, ReadOnlySpan<float> wEnc, Span<float> gbDec)
    {
        const int parts = CpuParts;
        int d = gbDec.Length, b = gOut.Length / d, f = gbEnc.Length;
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
