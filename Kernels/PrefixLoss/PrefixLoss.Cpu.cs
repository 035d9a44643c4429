namespace SaeGpu.Kernels;

internal static partial class PrefixLoss
{
    /// <summary>
    /// Fast CPU path: rows in parallel. Per row, one forward sweep over the entries builds each prefix error in place in
    /// the row's gGroup block (e_g starts as a copy of e_{g−1}), a backward sweep turns the block into suffix sums G, and a
    /// second sweep over the entries takes the value gradients while the block is still in cache. Both sweeps take four
    /// entries at a time (<see cref="Simd.Axpy4"/>, <see cref="Simd.Dot4"/>; bit-identical to one axpy or dot each).
    /// </summary>
    public static void Cpu(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, ReadOnlySpan<int> ends,
        ReadOnlySpan<float> coefficients, Span<int> groupOffsets, Span<float> gGroup, Span<float> gOut, Span<float> gValues,
        Span<float> sse)
    {
        int b = offsets.Length - 1, d = bias.Length, n = ends.Length;
        unsafe
        {
            fixed (int* po = offsets) fixed (int* pi = indices) fixed (float* pv = values) fixed (float* pw = w)
            fixed (float* pb = bias) fixed (float* px = x) fixed (int* pe = ends) fixed (float* pc = coefficients)
            fixed (int* pgo = groupOffsets) fixed (float* pgg = gGroup) fixed (float* pgout = gOut) fixed (float* pgv = gValues)
            fixed (float* ps = sse)
            {
                var job = new Job(new Codes(po, pi, pv), pw, pb, px, pe, pc, new Outputs(pgo, pgg, pgout, pgv, ps), d, n);
                Simd.ParallelChunks(b, (lo, hi) => { for (int r = lo; r < hi; r++) job.Row(r); }, 4);
            }
        }
        groupOffsets[b * n] = offsets[b];
    }

    private readonly unsafe struct Codes(int* offsets, int* indices, float* values)
    {
        public readonly int* Offsets = offsets, Indices = indices;
        public readonly float* Values = values;
    }

    private readonly unsafe struct Outputs(int* groupOffsets, float* gGroup, float* gOut, float* gValues, float* sse)
    {
        public readonly int* GroupOffsets = groupOffsets;
        public readonly float* GGroup = gGroup, GOut = gOut, GValues = gValues, Sse = sse;
    }

    private readonly unsafe struct Job(Codes c, float* w, float* bias, float* x, int* ends, float* coefficients, Outputs o, int d, int n)
    {
        public void Row(int r)
        {
            Forward(r);
            SuffixSums(r);
            new Span<float>(o.GGroup + (long)r * n * d, d).CopyTo(new Span<float>(o.GOut + (long)r * d, d));
            ValueGrads(r);
        }

        private Span<float> Block(int r, int g) => new(o.GGroup + ((long)r * n + g) * d, d);

        private float* W(int p) => w + (long)c.Indices[p] * d;

        private ReadOnlySpan<float> WRow(int p) => new(W(p), d);

        private void Forward(int r)
        {
            var e = Block(r, 0);
            for (int i = 0; i < d; i++) e[i] = bias[i] - x[(long)r * d + i];
            int p = c.Offsets[r], end = c.Offsets[r + 1];
            for (int g = 0; g < n; g++)
            {
                e = Block(r, g);
                if (g > 0) Block(r, g - 1).CopyTo(e);
                o.GroupOffsets[r * n + g] = p;
                int groupEnd = p;
                while (groupEnd < end && c.Indices[groupEnd] < ends[g]) groupEnd++;
                p = AddRows(p, groupEnd, e);
                o.Sse[r * n + g] = Simd.Dot(e, e);
            }
        }

        private void SuffixSums(int r)
        {
            Simd.Scale(coefficients[n - 1], Block(r, n - 1));
            for (int g = n - 2; g >= 0; g--)
            {
                var e = Block(r, g);
                Simd.Scale(coefficients[g], e);
                Simd.Axpy(1f, Block(r, g + 1), e);
            }
        }

        private void ValueGrads(int r)
        {
            int p = c.Offsets[r], end = c.Offsets[r + 1];
            for (int g = 0; g < n; g++)
            {
                var gg = Block(r, g);
                int groupEnd = g + 1 < n ? o.GroupOffsets[r * n + g + 1] : end;
                p = Dots(p, groupEnd, gg);
            }
        }

        // e += Σ values[p]·W[indices[p]] over [p, to), four entries at a time (Simd.Axpy4: the same chain as an axpy each).
        private int AddRows(int p, int to, Span<float> e)
        {
            fixed (float* pe = e)
                for (; p <= to - 4; p += 4)
                    Simd.Axpy4(c.Values[p], W(p), c.Values[p + 1], W(p + 1), c.Values[p + 2], W(p + 2), c.Values[p + 3], W(p + 3), pe, d);
            for (; p < to; p++) Simd.Axpy(c.Values[p], WRow(p), e);
            return p;
        }

        // gValues[p] = ⟨gg, W[indices[p]]⟩ over [p, to), four entries at a time (Simd.Dot4: each bit-identical to Simd.Dot).
        private int Dots(int p, int to, ReadOnlySpan<float> gg)
        {
            float* s = stackalloc float[4];
            fixed (float* pg = gg)
                for (; p <= to - 4; p += 4)
                {
                    Simd.Dot4(pg, W(p), W(p + 1), W(p + 2), W(p + 3), d, s);
                    for (int q = 0; q < 4; q++) o.GValues[p + q] = s[q];
                }
            for (; p < to; p++) o.GValues[p] = Simd.Dot(gg, WRow(p));
            return p;
        }
    }
}
