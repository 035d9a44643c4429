namespace SaeGpu.Kernels;

internal static partial class ValueGrad
{
    /// <summary>
    /// Fast CPU path: in the decode's latent-range passes (<see cref="SparseDecode.CpuPasses"/>, so the rows of a W larger
    /// than <see cref="SparseDecode.CpuPassBytes"/> come from the L3), rows in parallel; each row's entries in the pass's
    /// range four at a time (<see cref="Simd.Dot4"/>: each load of gOut's row shared by four rows of W), the rest one
    /// Vector256 dot each. Every entry is one <see cref="Simd.Dot"/>, bit for bit, whatever the passes.
    /// </summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> gOut,
        ReadOnlySpan<float> w, float shift, Span<float> gValues)
    {
        int b = offsets.Length - 1, d = gOut.Length / Math.Max(1, b);
        Cpu(offsets, indices, gOut, w, shift, gValues, SparseDecode.CpuPasses(offsets, w.Length / Math.Max(1, d), d));
    }

    /// <summary><see cref="Cpu(ReadOnlySpan{int}, ReadOnlySpan{int}, ReadOnlySpan{float}, ReadOnlySpan{float}, float, Span{float})"/> in a given number of latent-range passes.</summary>
    internal static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> gOut,
        ReadOnlySpan<float> w, float shift, Span<float> gValues, int passes)
    {
        int b = offsets.Length - 1, d = gOut.Length / Math.Max(1, b);
        unsafe
        {
            fixed (int* po = offsets) fixed (int* pi = indices) fixed (float* pg = gOut) fixed (float* pw = w)
            fixed (float* pv = gValues)
            {
                var job = new Job(po, pi, pg, pw, pv, d, shift);
                LatentPasses.Run(po, b, w.Length / Math.Max(1, d), passes, job.Row);
            }
        }
    }

    internal readonly unsafe struct Job(int* offsets, int* indices, float* gOut, float* w, float* gValues, int d, float shift)
    {
        /// <summary>Row r's entries with latents in [l0, l1).</summary>
        public void Row(int r, int l0, int l1, int* list)
        {
            float* g = gOut + (long)r * d;
            float* s = stackalloc float[4];
            int n = LatentPasses.Select(offsets, indices, r, l0, l1, list), q = 0;
            for (; q <= n - 4; q += 4)
            {
                Simd.Dot4(g, W(list[q]), W(list[q + 1]), W(list[q + 2]), W(list[q + 3]), d, s);
                for (int c = 0; c < 4; c++) gValues[list[q + c]] = s[c] + shift;
            }
            for (; q < n; q++) gValues[list[q]] = Simd.Dot(new ReadOnlySpan<float>(g, d), new ReadOnlySpan<float>(W(list[q]), d)) + shift;
        }

        private float* W(int p) => w + (long)indices[p] * d;
    }
}
