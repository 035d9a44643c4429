namespace SaeGpu.Kernels;

internal static partial class SparseDecode
{
    /// <summary>
    /// Bytes of W that one latent-range pass of the CPU decode gathers from (12 MiB, a share of a server L3; ours):
    /// a W larger than this is decoded in <see cref="CpuPasses"/> passes over consecutive latent ranges, so the rows a
    /// pass gathers stay in the L3 and are read from there, not from memory, each time another output row needs them.
    /// </summary>
    public const long CpuPassBytes = 12L << 20;

    /// <summary>
    /// Latent-range passes of the CPU gathers from W [F, d] for codes with CSR <paramref name="offsets"/> [B+1]:
    /// ⌈F·d·4 / <see cref="CpuPassBytes"/>⌉ (at most F), or 1 when the rows hold fewer than 8 entries per pass on average
    /// (each pass sweeps every output row once, so with few entries per pass the extra sweeps cost more than reading W
    /// from the L3 saves; the bound of 8 is ours).
    /// </summary>
    public static int CpuPasses(ReadOnlySpan<int> offsets, int f, int d)
    {
        int b = offsets.Length - 1;
        long passes = Math.Clamp(((long)f * d * sizeof(float) + CpuPassBytes - 1) / CpuPassBytes, 1, Math.Max(1, f));
        return offsets[b] >= 8 * passes * b ? (int)passes : 1;
    }

    /// <summary>
    /// Fast CPU path: in <see cref="CpuPasses"/> passes over latent ranges, rows in parallel; each row's entries in the
    /// pass's range four at a time (<see cref="Simd.Axpy4"/>: the output row loaded and stored once per four rows of W,
    /// whose gathers overlap), the rest one Vector256 axpy each. With rows sorted by latent (as every selection writes
    /// them) every output element gets the same FMA chain as one axpy per entry in order, whatever the passes.
    /// </summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> output) =>
        Cpu(offsets, indices, values, w, bias, output, CpuPasses(offsets, w.Length / Math.Max(1, bias.Length), bias.Length));

    /// <summary><see cref="Cpu(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> in a given number of latent-range passes.</summary>
    internal static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, Span<float> output, int passes)
    {
        int d = bias.Length, b = offsets.Length - 1, f = w.Length / Math.Max(1, d);
        unsafe
        {
            fixed (int* po = offsets) fixed (int* pi = indices) fixed (float* pv = values) fixed (float* pw = w)
            fixed (float* pb = bias) fixed (float* pout = output)
            {
                var job = new Job(po, pi, pv, pw, pb, pout, d);
                LatentPasses.Run(po, b, f, passes, job.Row);
            }
        }
    }

    internal readonly unsafe struct Job(int* offsets, int* indices, float* values, float* w, float* bias, float* output, int d)
    {
        /// <summary>Row r's part of pass [l0, l1): the bias first (in the pass from latent 0), then its entries in the range.</summary>
        public void Row(int r, int l0, int l1, int* list)
        {
            float* o = output + (long)r * d;
            if (l0 == 0) new ReadOnlySpan<float>(bias, d).CopyTo(new Span<float>(o, d));
            int n = LatentPasses.Select(offsets, indices, r, l0, l1, list), q = 0;
            for (; q <= n - 4; q += 4)
            {
                int p0 = list[q], p1 = list[q + 1], p2 = list[q + 2], p3 = list[q + 3];
                Simd.Axpy4(values[p0], W(p0), values[p1], W(p1), values[p2], W(p2), values[p3], W(p3), o, d);
            }
            for (; q < n; q++) Simd.Axpy(values[list[q]], new ReadOnlySpan<float>(W(list[q]), d), new Span<float>(o, d));
        }

        private float* W(int p) => w + (long)indices[p] * d;
    }
}
