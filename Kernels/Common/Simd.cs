using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SaeGpu.Kernels;

/// <summary>
/// Vectorized helpers shared by the fast CPU paths (Vector256 FMA with a scalar tail; some take Vector512 where the CPU
/// has AVX-512, with the same per-element arithmetic).
/// </summary>
internal static class Simd
{
    /// <summary>Σ_i a[i]·b[i] over the common length, float32 accumulation in 8 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        int n = a.Length, i = 0;
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pb = ref MemoryMarshal.GetReference(b);
        var acc0 = Vector256<float>.Zero;
        var acc1 = Vector256<float>.Zero;
        for (; i <= n - 16; i += 16)
        {
            acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)i), Vector256.LoadUnsafe(ref pb, (nuint)i), acc0);
            acc1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)(i + 8)), Vector256.LoadUnsafe(ref pb, (nuint)(i + 8)), acc1);
        }
        for (; i <= n - 8; i += 8)
            acc0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref pa, (nuint)i), Vector256.LoadUnsafe(ref pb, (nuint)i), acc0);
        float s = Vector256.Sum(acc0 + acc1);
        for (; i < n; i++) s += Unsafe.Add(ref pa, i) * Unsafe.Add(ref pb, i);
        return s;
    }

    /// <summary>
    /// s[c] = <see cref="Dot"/>(a, b_c) for the four rows b_0 … b_3 of n floats: each by Dot's arithmetic (bit for bit), with
    /// every load of a shared by the four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Dot4(float* a, float* b0, float* b1, float* b2, float* b3, int n, float* s)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            for (int c = 0; c < 4; c++)
                s[c] = Dot(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(c switch { 0 => b0, 1 => b1, 2 => b2, _ => b3 }, n));
            return;
        }
        // Lanes 0–7 of each accumulator are Dot's acc0 (the first 8 of every 16 floats), lanes 8–15 its acc1.
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        int i = 0;
        for (; i <= n - 16; i += 16)
        {
            var x = Vector512.Load(a + i);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b0 + i), c0);
            c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b1 + i), c1);
            c2 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b2 + i), c2);
            c3 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b3 + i), c3);
        }
        Vector256<float> p0 = c0.GetLower(), p1 = c1.GetLower(), p2 = c2.GetLower(), p3 = c3.GetLower();
        if (i <= n - 8)
        {
            var x = Vector256.Load(a + i);
            p0 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b0 + i), p0);
            p1 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b1 + i), p1);
            p2 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b2 + i), p2);
            p3 = Vector256.FusedMultiplyAdd(x, Vector256.Load(b3 + i), p3);
            i += 8;
        }
        s[0] = Vector256.Sum(p0 + c0.GetUpper());
        s[1] = Vector256.Sum(p1 + c1.GetUpper());
        s[2] = Vector256.Sum(p2 + c2.GetUpper());
        s[3] = Vector256.Sum(p3 + c3.GetUpper());
        if (i == n) return;
        s[0] = Tail(s[0], a, b0, i, n);
        s[1] = Tail(s[1], a, b1, i, n);
        s[2] = Tail(s[2], a, b2, i, n);
        s[3] = Tail(s[3], a, b3, i, n);
    }

    // Dot's scalar tail: s += a[i]·b[i] for i in [from, n), in order.
    private static unsafe float Tail(float s, float* a, float* b, int from, int n)
    {
        for (int i = from; i < n; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>y[i] += a·x[i] over the common length.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = y.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        var va = Vector256.Create(a);
        for (; i <= n - 8; i += 8)
            Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref px, (nuint)i), Vector256.LoadUnsafe(ref py, (nuint)i))
                .StoreUnsafe(ref py, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref py, i) += a * Unsafe.Add(ref px, i);
    }

    /// <summary>
    /// y[i] += a_c·x_c[i] for c = 0 … 3 in turn, over n floats: per element the same FMA chain (and scalar tail) as four
    /// <see cref="Axpy"/> calls one after another, with one load and store of y instead of four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Axpy4(float a0, float* x0, float a1, float* x1, float a2, float* x2, float a3, float* x3, float* y, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> w0 = Vector512.Create(a0), w1 = Vector512.Create(a1), w2 = Vector512.Create(a2), w3 = Vector512.Create(a3);
            for (; i <= n - 16; i += 16)
            {
                var t = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x0 + i), Vector512.Load(y + i));
                t = Vector512.FusedMultiplyAdd(w1, Vector512.Load(x1 + i), t);
                t = Vector512.FusedMultiplyAdd(w2, Vector512.Load(x2 + i), t);
                Vector512.FusedMultiplyAdd(w3, Vector512.Load(x3 + i), t).Store(y + i);
            }
        }
        Vector256<float> v0 = Vector256.Create(a0), v1 = Vector256.Create(a1), v2 = Vector256.Create(a2), v3 = Vector256.Create(a3);
        for (; i <= n - 8; i += 8)
        {
            var t = Vector256.FusedMultiplyAdd(v0, Vector256.Load(x0 + i), Vector256.Load(y + i));
            t = Vector256.FusedMultiplyAdd(v1, Vector256.Load(x1 + i), t);
            t = Vector256.FusedMultiplyAdd(v2, Vector256.Load(x2 + i), t);
            Vector256.FusedMultiplyAdd(v3, Vector256.Load(x3 + i), t).Store(y + i);
        }
        for (; i < n; i++)
        {
            float t = y[i];
            t += a0 * x0[i];
            t += a1 * x1[i];
            t += a2 * x2[i];
            y[i] = t + a3 * x3[i];
        }
    }

    /// <summary>
    /// o[i] += Σ_q rows.Weight(q)·rows.Row(q)[i] for i in [0, d), q = q0 … q1 − 1 in order: per element the same FMA chain
    /// (and scalar tail) as one <see cref="Axpy"/> per q, but each 128-float (AVX-512) or 64-float slice of o is summed in
    /// registers over all q before it is stored, instead of loading and storing o for every q.
    /// </summary>
    internal static unsafe void AccumulateRows<TRows>(TRows rows, int q0, int q1, float* o, int d) where TRows : struct, IWeightedRows
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i <= d - 128; i += 128) Columns128(rows, q0, q1, o, i);
        for (; i <= d - 64; i += 64) Columns64(rows, q0, q1, o, i);
        for (; i <= d - 8; i += 8)
        {
            var a = Vector256.Load(o + i);
            for (int q = q0; q < q1; q++)
                a = Vector256.FusedMultiplyAdd(Vector256.Create(rows.Weight(q)), Vector256.Load(rows.Row(q) + i), a);
            a.Store(o + i);
        }
        for (; i < d; i++)
            for (int q = q0; q < q1; q++) o[i] += rows.Weight(q) * rows.Row(q)[i];
    }

    // 128 floats of o in eight Vector512 accumulators (where the CPU has AVX-512): the same per-element FMA chain as Columns64.
    private static unsafe void Columns128<TRows>(TRows rows, int q0, int q1, float* o, int i) where TRows : struct, IWeightedRows
    {
        Vector512<float> a0 = Vector512.Load(o + i), a1 = Vector512.Load(o + i + 16), a2 = Vector512.Load(o + i + 32),
            a3 = Vector512.Load(o + i + 48), a4 = Vector512.Load(o + i + 64), a5 = Vector512.Load(o + i + 80),
            a6 = Vector512.Load(o + i + 96), a7 = Vector512.Load(o + i + 112);
        for (int q = q0; q < q1; q++)
        {
            var g = Vector512.Create(rows.Weight(q));
            float* r = rows.Row(q) + i;
            a0 = Vector512.FusedMultiplyAdd(g, Vector512.Load(r), a0);
            a1 = Vector512.FusedMultiplyAdd(g, Vector512.Load(r + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(g, Vector512.Load(r + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(g, Vector512.Load(r + 48), a3);
            a4 = Vector512.FusedMultiplyAdd(g, Vector512.Load(r + 64), a4);
            a5 = Vector512.FusedMultiplyAdd(g, Vector512.Load(r + 80), a5);
            a6 = Vector512.FusedMultiplyAdd(g, Vector512.Load(r + 96), a6);
            a7 = Vector512.FusedMultiplyAdd(g, Vector512.Load(r + 112), a7);
        }
        a0.Store(o + i); a1.Store(o + i + 16); a2.Store(o + i + 32); a3.Store(o + i + 48);
        a4.Store(o + i + 64); a5.Store(o + i + 80); a6.Store(o + i + 96); a7.Store(o + i + 112);
    }

    private static unsafe void Columns64<TRows>(TRows rows, int q0, int q1, float* o, int i) where TRows : struct, IWeightedRows
    {
        Vector256<float> a0 = Vector256.Load(o + i), a1 = Vector256.Load(o + i + 8), a2 = Vector256.Load(o + i + 16),
            a3 = Vector256.Load(o + i + 24), a4 = Vector256.Load(o + i + 32), a5 = Vector256.Load(o + i + 40),
            a6 = Vector256.Load(o + i + 48), a7 = Vector256.Load(o + i + 56);
        for (int q = q0; q < q1; q++)
        {
            var g = Vector256.Create(rows.Weight(q));
            float* r = rows.Row(q) + i;
            a0 = Vector256.FusedMultiplyAdd(g, Vector256.Load(r), a0);
            a1 = Vector256.FusedMultiplyAdd(g, Vector256.Load(r + 8), a1);
            a2 = Vector256.FusedMultiplyAdd(g, Vector256.Load(r + 16), a2);
            a3 = Vector256.FusedMultiplyAdd(g, Vector256.Load(r + 24), a3);
            a4 = Vector256.FusedMultiplyAdd(g, Vector256.Load(r + 32), a4);
            a5 = Vector256.FusedMultiplyAdd(g, Vector256.Load(r + 40), a5);
            a6 = Vector256.FusedMultiplyAdd(g, Vector256.Load(r + 48), a6);
            a7 = Vector256.FusedMultiplyAdd(g, Vector256.Load(r + 56), a7);
        }
        a0.Store(o + i); a1.Store(o + i + 8); a2.Store(o + i + 16); a3.Store(o + i + 24);
        a4.Store(o + i + 32); a5.Store(o + i + 40); a6.Store(o + i + 48); a7.Store(o + i + 56);
    }

    /// <summary>y[i] *= a.</summary>
    public static void Scale(float a, Span<float> y)
    {
        int n = y.Length, i = 0;
        ref float py = ref MemoryMarshal.GetReference(y);
        var va = Vector256.Create(a);
        for (; i <= n - 8; i += 8) (va * Vector256.LoadUnsafe(ref py, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref py, i) *= a;
    }

    /// <summary>
    /// Runs <paramref name="body"/> over [0, n) split into about 4·cores contiguous chunks of whole 8-float vectors: every
    /// chunk but the last starts and ends at a multiple of 8, so a Vector256 loop with a scalar tail treats each element
    /// the same whatever the number of cores (results of element-wise ops do not depend on the machine).
    /// </summary>
    public static void ParallelVectorChunks(int n, Action<int, int> body, int minChunk) =>
        ParallelChunks((n + 7) / 8, (lo, hi) => body(lo * 8, Math.Min(n, hi * 8)), Math.Max(1, minChunk / 8));

    /// <summary>
    /// At most one worker per core for each parallel loop (concurrent callers can still oversubscribe): the thread pool otherwise adds workers while long blocks run, and two blocks time-sliced
    /// on one core evict each other's cache-resident tiles (measured: 3.2 busy threads on 2 cores in the fused encode).
    /// </summary>
    public static ParallelOptions OnCores { get; } = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    /// <summary>Runs <paramref name="body"/> over [0, n) split into about 4·cores contiguous chunks.</summary>
    public static void ParallelChunks(int n, Action<int, int> body, int minChunk = 1)
    {
        int chunks = Math.Max(1, Math.Min(Environment.ProcessorCount * 4, n / Math.Max(1, minChunk)));
        if (chunks == 1) { body(0, n); return; }
        Parallel.For(0, chunks, OnCores, c =>
        {
            int lo = (int)((long)n * c / chunks), hi = (int)((long)n * (c + 1) / chunks);
            if (hi > lo) body(lo, hi);
        });
    }
}

/// <summary>The weighted rows summed by <see cref="Simd.AccumulateRows"/>: weight and row (d floats) of entry q.</summary>
internal unsafe interface IWeightedRows
{
    /// <summary>The weight of entry q.</summary>
    float Weight(int q);

    /// <summary>The row of entry q.</summary>
    float* Row(int q);
}
