using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    public static unsafe void Prefetch(float* p, int n)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported) return;
        for (int i = 0; i < n; i += 16) System.Runtime.Intrinsics.X86.Sse.Prefetch0(p + i);
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
