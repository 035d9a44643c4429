using System.Runtime.InteropServices;
using System.Buffers;

namespace SaeGpu.Kernels;

internal static partial class EncodeTopK
{
    /// <summary>
    /// Fast CPU path, bit-identical to <see cref="Encode.Cpu"/> then <see cref="MaskLatents.Cpu"/> then <see cref="TopK.Cpu"/>:
    /// blocks of up to 256 rows run in parallel; each computes 64-latent tiles of pre (only eligible latents) into a
    /// [rows, 64] buffer with <see cref="CpuGemm"/> and offers them at once to its rows' selections (<see cref="RowSelect"/>),
    /// so pre [B, F] never exists. AbsTopK's signed values are recomputed for the k kept entries by the same arithmetic.
    /// <para>
    /// With <paramref name="screen"/> other than null (a kernel this CPU runs), row blocks go through the int8 screen
    /// instead (<see cref="Screen"/>), in two passes: int8 dots give each (row, latent) a score interval; the upper ends are
    /// kept and the lower ends stream through a second selection per row, which settles the row's bar at the k-th largest
    /// lower end (never above the final k-th largest score). Then, per 128-latent tile while its W_enc rows are in cache,
    /// only the latents whose upper end reaches the bar (and is positive) get their exact fp32 pre-activation, by the same
    /// arithmetic (<see cref="CpuGemm.PreList"/>); the others are offered as 0. A latent left out scores below the row's
    /// k-th largest score, so the codes are the same bit for bit, ties, top-AFA counts and AbsTopK signs included.
    /// <paramref name="tally"/>, when given, counts the pairs admitted and screened.
    /// </para>
    /// </summary>
    public static unsafe void Cpu(ReadOnlySpan<float> x, ReadOnlySpan<float> bDec, ReadOnlySpan<float> wEnc, ReadOnlySpan<float> bEnc,
        ReadOnlySpan<int> mask, int k, bool absolute, ReadOnlySpan<float> targetNorms, Span<int> offsets, Span<int> indices, Span<float> values,
        Int8Kernel? screen = null, ScreenTally? tally = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        int d = bDec.Length, b = x.Length / d;
        int[] eligible = mask.IsEmpty ? [] : Eligible(mask);
        int m = mask.IsEmpty ? bEnc.Length : eligible.Length;
        float[] xc = Encode.RentCentered(x, bDec);
        float* pairs = screen == null ? CpuGemm.AllocPairs(xc, b, d) : null;
        int[] counts = ArrayPool<int>.Shared.Rent(b);
        try
        {
            unsafe
            {
                fixed (float* px = xc) fixed (float* pw = wEnc) fixed (float* pb = bEnc) fixed (int* pl = eligible)
                fixed (int* pi = indices) fixed (float* pv = values) fixed (float* pt = targetNorms)
                {
                    int* map = mask.IsEmpty ? null : pl;
                    var job = new BlockJob(new CpuGemm(px, pw, pb, d, map, pairs), map, m, pi, pv, k, absolute, targetNorms.IsEmpty ? null : pt,
                        screen is { } kernel ? new Screen(kernel, px, b, pw, pb, d, map, m) : null, tally);
                    var cnt = counts;
                    int rows = RowsPerBlock(b, screen == null ? 0 : m, k), blocks = (b + rows - 1) / rows;
                    Parallel.For(0, blocks, Simd.OnCores, q => job.Rows(q * rows, Math.Min(b, q * rows + rows), cnt));
                }
            }
            Csr.CompactPadded(counts.AsSpan(0, b), k, offsets, indices, values);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xc);
            CpuGemm.FreePairs(pairs);
            ArrayPool<int>.Shared.Return(counts);
        }
    }

    /// <summary>Counts of one or more screened calls (pass one as <c>tally</c>): (row, latent) pairs admitted to the exact
    /// pass and pairs screened. Thread-safe; owned by its caller, so concurrent calls with other tallies do not mix.</summary>
    internal sealed class ScreenTally
    {
        private long admitted, screened;

        /// <summary>Pairs whose exact pre-activation was computed.</summary>
        public long Admitted => Interlocked.Read(ref admitted);

        /// <summary>Pairs screened (rows × eligible latents).</summary>
        public long Screened => Interlocked.Read(ref screened);

        /// <summary>Adds one row block's counts.</summary>
        public void Add(long a, long s)
        {
            Interlocked.Add(ref admitted, a);
            Interlocked.Add(ref screened, s);
        }
    }

    private static int[] Eligible(ReadOnlySpan<int> mask)
    {
        var list = new List<int>();
        for (int j = 0; j < mask.Length; j++) if (mask[j] != 0) list.Add(j);
        return [.. list];
    }

    // Enough blocks for every core (two per core), each a multiple of the 4-row register block, up to 256 rows: every block
    // streams all of W_enc through the caches once (50 MB at F 16384, d 768), so larger blocks cut that memory traffic.
    // When screening m latents, few enough that the block's upper ends (rows × m floats) stay within 16 MB; and always few
    // enough that its selections (2k + 8 slots of 8 bytes per row each, two when screening, for k up to F) do too.
    private static int RowsPerBlock(int b, int screened, int k)
    {
        int perCore = (b + 2 * Environment.ProcessorCount - 1) / (2 * Environment.ProcessorCount);
        int most = Math.Min(screened == 0 ? int.MaxValue : (1 << 22) / screened, (1 << 19) / (k + 4));
        return Math.Clamp((perCore + 3) / 4 * 4, 4, Math.Max(4, Math.Min(4 * Encode.CpuTile, most) / 4 * 4));
    }

    private readonly unsafe struct BlockJob(CpuGemm gemm, int* map, int m, int* indices, float* values, int k, bool absolute, float* targets,
        Screen? screen, ScreenTally? tally)
    {
        public void Rows(int r0, int r1, int[] counts)
        {
            const int t = Encode.CpuTile;
            float* tile = stackalloc float[screen == null ? (r1 - r0) * t : 0];
            int* n = stackalloc int[r1 - r0];
            float* bar = stackalloc float[r1 - r0];
            new Span<int>(n, r1 - r0).Clear();
            new Span<float>(bar, r1 - r0).Clear();
            using var buffer = new RowSelect.Buffer(r1 - r0, k);
            using var screening = screen == null ? null : new Screening(r1 - r0, m, k);
            if (screening != null) ScreenAll(r0, r1, screening);
            int step = screening == null ? t : Screening.ExactTile;
            for (int c0 = 0; c0 < m; c0 += step)
            {
                int c1 = Math.Min(m, c0 + step);
                if (screening == null) gemm.Tile(r0, r1, c0, c1, tile, t);
                else AdmittedTile(r0, r1, c0, c1, screening.Values, screening);
                float* values = screening == null ? tile : screening.Values;
                for (int a = 0; a < r1 - r0; a++)
                    buffer.Row(a, absolute).OfferAll(values + a * step, c1 - c0, c0, map, ref n[a], ref bar[a]);
            }
            for (int r = r0; r < r1; r++) counts[r] = Finish(r, buffer.Row(r - r0, absolute), n[r - r0]);
            if (screening != null) tally?.Add(screening.Admitted, (long)(r1 - r0) * m);
        }

        // First pass of a screened block: every latent's score interval from int8 dots; the upper ends are kept, the
        // lower ends stream through a selection per row whose bar ends as the k-th largest lower end (0 if fewer than k
        // are positive).
        private void ScreenAll(int r0, int r1, Screening s)
        {
            const int t = Encode.CpuTile;
            for (int c0 = 0; c0 < m; c0 += t)
            {
                int c1 = Math.Min(m, c0 + t);
                screen!.Dots(r0, r1, c0, c1, s.Dots, t);
                for (int a = 0; a < r1 - r0; a++)
                {
                    screen.Bounds(r0 + a, c0, c1 - c0, s.Dots + a * t, absolute, s.Lower, s.Upper(a) + c0);
                    s.Lowers.Row(a, false).OfferAll(s.Lower, c1 - c0, c0, null, ref s.N[a], ref s.Bar[a]);
                }
            }
            for (int a = 0; a < r1 - r0; a++) s.Lowers.Row(a, false).Settle(ref s.N[a], ref s.Bar[a]);
        }

        // Second pass: a tile [rows, ExactTile] with the exact pre-activation of every latent whose upper end reaches its
        // row's bar (and is positive), computed while the W_enc tile is in cache, and 0 elsewhere.
        private void AdmittedTile(int r0, int r1, int c0, int c1, float* tile, Screening s)
        {
            for (int a = 0; a < r1 - r0; a++)
            {
                float* row = tile + a * Screening.ExactTile;
                int n = Screen.Admitted(s.Upper(a) + c0, c1 - c0, s.Bar[a], s.Slots);
                s.Admitted += n;
                for (int q = 0; q < n; q++) s.Slots[q] += c0;
                gemm.PreList(r0 + a, s.Slots, n, s.Exact);
                new Span<float>(row, c1 - c0).Clear();
                for (int q = 0; q < n; q++) row[s.Slots[q] - c0] = s.Exact[q];
            }
        }

        private int Finish(int r, RowSelect select, int n)
        {
            int* rowIdx = indices + (long)r * k;
            float* rowVal = values + (long)r * k;
            n = select.Finish(n, targets == null ? float.NaN : targets[r], rowIdx, rowVal);
            if (absolute)
                for (int q = 0; q < n; q++) rowVal[q] = gemm.Pre(r, rowIdx[q]);
            return n;
        }
    }

    /// <summary>
    /// Per row block of a screened encode: the int8 dot tile, one row's lower ends, every row's upper ends [rows, m]
    /// (padded to whole 8-lane blocks), the admitted slots of one row's tile and their exact values, and the per-row
    /// selection of lower ends with its count and bar.
    /// </summary>
    private sealed unsafe class Screening(int rows, int m, int k) : IDisposable
    {
        /// <summary>Latents per tile of the exact pass: 128 (384 KB of W_enc at d 768: in L2 with the rows), enough admitted per row to fill
        /// <see cref="CpuGemm.PreList"/>'s eight chains.</summary>
        public const int ExactTile = 128;
        private const int T = Encode.CpuTile;
        private readonly int stride = (m + 7) / 8 * 8;
        private readonly void* memory = NativeMemory.AllocZeroed((nuint)(rows * T + 2 * T + 2 * ExactTile + 2 * rows + rows * ExactTile), sizeof(int));
        private readonly float* upper = (float*)NativeMemory.AllocZeroed((nuint)rows * (nuint)((m + 7) / 8 * 8), sizeof(float));

        /// <summary>int8 dots [rows, 64] of one tile.</summary>
        public int* Dots => (int*)memory;
        /// <summary>Lower ends of one row's tile [64].</summary>
        public float* Lower => (float*)memory + rows * T;
        /// <summary>Upper ends of row a of the block [m].</summary>
        public float* Upper(int a) => upper + (long)a * stride;
        /// <summary>Admitted slots of one row's exact tile [128].</summary>
        public int* Slots => (int*)(Lower + T);
        /// <summary>Their exact pre-activations [128].</summary>
        public float* Exact => (float*)(Slots + ExactTile);
        /// <summary>Per row: count of the lower ends' selection.</summary>
        public int* N => (int*)(Exact + ExactTile);
        /// <summary>Per row: the lower ends' bar.</summary>
        public float* Bar => (float*)(N + rows);
        /// <summary>The exact tile [rows, 128]: admitted latents' pre-activations, 0 elsewhere.</summary>
        public float* Values => Bar + rows;
        /// <summary>Latents admitted so far (exact values computed).</summary>
        public long Admitted { get; set; }
        /// <summary>The lower ends' selections.</summary>
        public RowSelect.Buffer Lowers { get; } = new(rows, k);

        /// <summary>Frees the memory.</summary>
        public void Dispose()
        {
            Lowers.Dispose();
            NativeMemory.Free(memory);
            NativeMemory.Free(upper);
        }
    }
}
