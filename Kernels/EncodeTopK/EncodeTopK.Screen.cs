using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SaeGpu.Kernels;

internal static partial class EncodeTopK
{
    /// <summary>
    /// The int8 screen of one <see cref="Cpu"/> call (issue 19): the centered rows and the eligible W_enc rows (in slot
    /// order) quantized by <see cref="Int8Screen"/>, with the per-row and per-latent terms of the bound rounded up to fp32.
    /// Per tile it gives every (row, latent) an interval [lower, upper] of its score (pre, or |pre| for AbsTopK) computed
    /// from the int8 dot: |score − approx| ≤ bound, with bound = (‖r_x‖ + γ‖x̃‖)·‖w‖ + ‖s_x q_x‖·‖r_w‖ + γ|b| (the
    /// Cauchy–Schwarz and rounding bound of <see cref="Int8Screen.Estimate"/>) widened by 2⁻²⁰·(bound + |s_x s_w q_x·q_w| + |b|)
    /// + 2⁻¹²⁶, which covers the fp32 rounding of this evaluation (a dozen operations on non-negative terms, each off by at
    /// most 2⁻²⁴ relative, and underflow) with room to spare. A non-finite interval (a row or latent holding NaN or ±Inf,
    /// an overflow) becomes (−∞, +∞): always admitted.
    /// </summary>
    private sealed unsafe class Screen
    {
        private const float Margin = 1f / (1 << 20), Tiny = 1.1754944E-38f; // 2⁻²⁰, 2⁻¹²⁶
        private readonly Int8Kernel kernel;
        private readonly int width, offset;
        private readonly Pinned<byte> xq;
        private readonly Pinned<sbyte> wq;
        private readonly Pinned<int> wSums;
        private readonly Pinned<float> sx, ax, qx, sw, fw, rw, gw, bw;

        /// <summary>Quantizes the centered rows xc [b, d] and the latents map[c] (or c) for slots c in [0, m).</summary>
        public Screen(Int8Kernel kernel, float* xc, int b, float* w, float* bias, int d, int* map, int m)
        {
            this.kernel = kernel;
            var levels = Int8Screen.LevelsOf(kernel);
            (width, offset) = (Int8Screen.PaddedWidth(d), levels.X + 1);
            double gamma = Int8Screen.Gamma(d);
            (xq, sx, ax, qx) = (new(b * width), new(b), new(b), new(b));
            (wq, wSums, sw, fw, rw, gw, bw) = (new(m * width), new(m + 8), new(m + 8), new(m + 8), new(m + 8), new(m + 8), new(m + 8));
            byte* px = xq.P;
            sbyte* pwq = wq.P;
            int* psums = wSums.P;
            float* psx = sx.P, pax = ax.P, pqx = qx.P, psw = sw.P, pfw = fw.P, prw = rw.P, pgw = gw.P, pbw = bw.P;
            int rowWidth = width, off = offset;
            Simd.ParallelChunks(b, (lo, hi) =>
            {
                for (int r = lo; r < hi; r++)
                {
                    var q = new Span<sbyte>((sbyte*)px + (long)r * rowWidth, d);
                    var (s, n) = Int8Screen.QuantizeRowCpu(new ReadOnlySpan<float>(xc + (long)r * d, d), levels.X, q);
                    foreach (ref sbyte v in q) v = (sbyte)(byte)(v + off);
                    (psx[r], pax[r], pqx[r]) = (s, Up(n.Residual + gamma * n.Full), Up(n.Quantized));
                }
            });
            Simd.ParallelChunks(m, (lo, hi) =>
            {
                for (int c = lo; c < hi; c++)
                {
                    int j = map == null ? c : map[c];
                    var q = new Span<sbyte>(pwq + (long)c * rowWidth, d);
                    var (s, n) = Int8Screen.QuantizeRowCpu(new ReadOnlySpan<float>(w + (long)j * d, d), levels.W, q);
                    int sum = 0;
                    foreach (sbyte v in q) sum += v;
                    (psums[c], psw[c], pfw[c], prw[c]) = (sum, s, Up(n.Full), Up(n.Residual));
                    (pgw[c], pbw[c]) = (Up(gamma * Math.Abs(bias[j])), bias[j]);
                }
            });
        }

        /// <summary>int8 dots of rows [r0, r1) × slots [c0, c1) into output (row stride <paramref name="stride"/>).</summary>
        public void Dots(int r0, int r1, int c0, int c1, int* output, long stride) =>
            Int8Screen.DotTile(kernel, xq.P, wq.P, wSums.P, offset, width, r0, r1, c0, c1, output, stride);

        /// <summary>
        /// The score intervals of row r and slots [c0, c0 + count) from their int8 dots: lower[q], upper[q] for q in
        /// [0, count) (whole 8-lane blocks are written; count ≤ 64 and the buffers hold 64).
        /// </summary>
        public void Bounds(int r, int c0, int count, int* dots, bool absolute, float* lower, float* upper)
        {
            var (s, a, qn) = (Vector256.Create(sx.P[r]), Vector256.Create(ax.P[r]), Vector256.Create(qx.P[r]));
            for (int q = 0; q < count; q += 8)
            {
                int c = c0 + q;
                var b = Vector256.Load(bw.P + c);
                var p = s * Vector256.Load(sw.P + c) * Vector256.ConvertToSingle(Vector256.Load(dots + q));
                var bound = Vector256.FusedMultiplyAdd(a, Vector256.Load(fw.P + c), Vector256.FusedMultiplyAdd(qn, Vector256.Load(rw.P + c), Vector256.Load(gw.P + c)));
                var total = bound + Vector256.Create(Margin) * (bound + Vector256.Abs(p) + Vector256.Abs(b)) + Vector256.Create(Tiny);
                var score = absolute ? Vector256.Abs(p + b) : p + b;
                var hi = score + total;
                var lo = absolute ? Vector256.Max(Vector256<float>.Zero, score - total) : score - total;
                var bad = ~(Vector256.Equals(hi - hi, Vector256<float>.Zero) & Vector256.Equals(lo - lo, Vector256<float>.Zero));
                Vector256.ConditionalSelect(bad, Vector256.Create(float.PositiveInfinity), hi).Store(upper + q);
                Vector256.ConditionalSelect(bad, Vector256.Create(float.NegativeInfinity), lo).Store(lower + q);
            }
        }

        /// <summary>
        /// The slots q in [0, count) whose score can reach the row's top k: upper[q] &gt; 0 and upper[q] ≥ bar (bar ≥ 0, at
        /// most the k-th largest lower bound of the row). Writes them ascending to <paramref name="slots"/>; returns how many.
        /// </summary>
        public static int Admitted(float* upper, int count, float bar, int* slots)
        {
            int n = 0;
            for (int q = 0; q < count; q += 8)
            {
                var u = Vector256.Load(upper + q);
                uint bits = (Vector256.GreaterThan(u, Vector256<float>.Zero) & Vector256.GreaterThanOrEqual(u, Vector256.Create(bar))).ExtractMostSignificantBits();
                if (count - q < 8) bits &= (1u << (count - q)) - 1;
                for (; bits != 0; bits &= bits - 1) slots[n++] = q + BitOperations.TrailingZeroCount(bits);
            }
            return n;
        }

        // The float at or above v (non-negative terms of the bound; NaN and overflow stay NaN and ∞).
        private static float Up(double v)
        {
            float f = (float)v;
            return f < v ? MathF.BitIncrement(f) : f;
        }
    }

    /// <summary>A zeroed array pinned for the life of the object, with its address.</summary>
    private sealed unsafe class Pinned<T> where T : unmanaged
    {
        private readonly T[] data;

        public Pinned(int length)
        {
            data = GC.AllocateArray<T>(length + 64 / sizeof(T), pinned: true);
            var start = (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(data));
            P = (T*)(((nint)start + 63) & ~(nint)63);
        }

        /// <summary>Address of element 0, aligned to 64 bytes (a 512-bit load never straddles cache lines).</summary>
        public T* P { get; }
    }
}
