using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SaeGpu.Kernels;

/// <summary>Vectorized helpers shared by the fast CPU paths (Vector256 FMA with a scalar tail).</summary>
public static class Simd
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

    /// <summary>Asks the cache for the n floats at <paramref name="p"/> (one prefetch per 64-byte line), ahead of a gather.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void Prefetch(float* p, int n)
    {
        if (!Sse.IsSupported) return;
        for (int i = 0; i < n; i += 16) Sse.Prefetch0(p + i);
    }

    /// <summary>
    /// o[i] += Σ_q rows.Weight(q)·rows.Row(q)[i] for i in [0, d), q = q0 … q1 − 1 in order: per element the same FMA chain
    /// (and scalar tail) as one <see cref="Axpy"/> per q, but each 64-float slice of o is summed in registers over all q
    /// before it is stored, instead of loading and storing o for every q.
    /// </summary>
    internal static unsafe void AccumulateRows<TRows>(TRows rows, int q0, int q1, float* o, int d) where TRows : struct, IWeightedRows
    {
        int i = 0;
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

    /// <summary>Runs <paramref name="body"/> over [0, n) split into about 4·cores contiguous chunks.</summary>
    public static void ParallelChunks(int n, Action<int, int> body, int minChunk = 1)
    {
        int chunks = Math.Max(1, Math.Min(Environment.ProcessorCount * 4, n / Math.Max(1, minChunk)));
        if (chunks == 1) { body(0, n); return; }
        Parallel.For(0, chunks, c =>
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
