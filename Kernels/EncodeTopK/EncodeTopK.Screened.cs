using System.Buffers;

namespace SaeGpu.Kernels;

internal static partial class EncodeTopK
{
    /// <summary>
    /// <see cref="Cpu"/> through the int8 screen (issue 19; first version, correctness only — not yet tiled, not yet used
    /// by the backends): per row, every eligible latent gets an approximate pre-activation and a bound from
    /// <see cref="Int8Screen"/>; the bar is the k-th largest lower bound of the scores (|pre| for AbsTopK); only latents
    /// whose upper bound reaches the bar (and is positive) are computed exactly, by <see cref="CpuGemm.Pre"/> — the fp32 path's
    /// own arithmetic — and the selection runs on them with the others at 0. A latent outside the screen cannot be among
    /// the row's top k (its score is below the k-th largest lower bound, which is at most the k-th largest score), and
    /// every positive score is admitted while fewer than k are positive, so the codes equal <see cref="Cpu"/>'s bit for
    /// bit, ties, top-AFA counts and AbsTopK signs included. Rows and latents holding NaN or ±Inf are always admitted.
    /// </summary>
    public static void CpuScreened(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc,
        ReadOnlySpan<int> mask, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        int d = bDec.Length, f = bEnc.Length, b = x.Length / d;
        float[] xc = Encode.RentCentered(x, bDec);
        var screen = new Screen(xc.AsSpan(0, b * d), wEnc, d);
        var row = new float[f];
        var counts = new int[b];
        try
        {
            unsafe
            {
                fixed (float* px = xc) fixed (float* pw = wEnc) fixed (float* pb = bEnc)
                {
                    var gemm = new CpuGemm(px, pw, pb, d, null);
                    for (int r = 0; r < b; r++)
                    {
                        screen.Admit(r, bEnc, mask, k, absolute, row, j => gemm.Pre(r, j));
                        TopK.Reference(row, f, k, absolute, targetNorms.IsEmpty ? [] : targetNorms.Slice(r, 1),
                            offsets[..2], indices.Slice(r * k, k), values.Slice(r * k, k));
                        counts[r] = offsets[1];
                    }
                }
            }
            Csr.CompactPadded(counts, k, offsets, indices, values);
        }
        finally { ArrayPool<float>.Shared.Return(xc); }
    }

    /// <summary>The quantized rows of one encode: centered inputs and W_enc, with their scales and norms.</summary>
    private sealed class Screen
    {
        private readonly int d;
        private readonly sbyte[] qx, qw;
        private readonly byte[] qxOffset;
        private readonly float[] sx, sw;
        private readonly RowNorms[] nx, nw;
        private readonly int[] wSums;
        private readonly double[] lower, upper, sorted;

        public Screen(ReadOnlySpan<float> xc, ReadOnlySpan<float> wEnc, int d)
        {
            this.d = d;
            int b = xc.Length / d, f = wEnc.Length / d;
            (qx, sx, nx, qxOffset) = (new sbyte[xc.Length], new float[b], new RowNorms[b], new byte[xc.Length]);
            (qw, sw, nw, wSums, lower) = (new sbyte[wEnc.Length], new float[f], new RowNorms[f], new int[f], new double[f]);
            (upper, sorted) = (new double[f], new double[f]);
            Int8Screen.QuantizeRows(xc, d, qx, sx, nx);
            Int8Screen.QuantizeRows(wEnc, d, qw, sw, nw);
            Int8Screen.Offset(qx, qxOffset);
            for (int j = 0; j < f; j++) wSums[j] = Int8Screen.Sum(qw.AsSpan(j * d, d));
        }

        /// <summary>
        /// Fills <paramref name="row"/> [F] with the exact pre-activation of every admitted latent of row r and 0 elsewhere
        /// (ineligible latents count as 0, as after masking).
        /// </summary>
        public void Admit(int r, ReadOnlySpan<float> bias, ReadOnlySpan<int> mask, int k, bool absolute, Span<float> row, Func<int, float> exact)
        {
            int f = row.Length;
            for (int j = 0; j < f; j++)
            {
                if (!mask.IsEmpty && mask[j] == 0) (lower[j], upper[j]) = (double.NegativeInfinity, double.NegativeInfinity);
                else (lower[j], upper[j]) = ScoreInterval(r, j, bias[j], absolute);
            }
            double bar = KthLargest(k);
            for (int j = 0; j < f; j++) row[j] = upper[j] >= bar && upper[j] > 0 ? exact(j) : 0f;
        }

        // [lower, upper] of the score (pre, or |pre| for AbsTopK); (−∞, +∞) when the screen does not apply.
        private (double Lower, double Upper) ScoreInterval(int r, int j, float bias, bool absolute)
        {
            int dot = Int8Screen.DotCpu(qxOffset.AsSpan(r * d, d), qw.AsSpan(j * d, d), wSums[j]);
            var (approx, bound) = Int8Screen.Estimate(dot, sx[r], nx[r], sw[j], nw[j], bias, d);
            if (!double.IsFinite(approx) || !double.IsFinite(bound)) return (double.NegativeInfinity, double.PositiveInfinity);
            return absolute ? (Math.Max(0, Math.Abs(approx) - bound), Math.Abs(approx) + bound) : (approx - bound, approx + bound);
        }

        // The k-th largest lower bound (−∞ when there are fewer than k latents).
        private double KthLargest(int k)
        {
            if (k > lower.Length) return double.NegativeInfinity;
            lower.CopyTo(sorted, 0);
            Array.Sort(sorted);
            return sorted[^k];
        }
    }
}
