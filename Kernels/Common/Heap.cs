namespace SaeGpu.Kernels;

/// <summary>
/// A min-heap of (score, key) pairs under the selection order (<see cref="Csr.Before"/>): the root is the weakest kept
/// entry — smallest score, and among equal scores the largest key. Used by the CPU path of ColumnTopKThreshold.
/// </summary>
internal static class Heap
{
    private static bool Weaker(Span<float> v, Span<int> key, int a, int b) => Csr.Before(v[b], key[b], v[a], key[a]);

    private static void Swap(Span<float> v, Span<int> key, int a, int b)
    {
        (v[a], v[b]) = (v[b], v[a]);
        (key[a], key[b]) = (key[b], key[a]);
    }

    /// <summary>Restores the heap after appending at index <paramref name="c"/>.</summary>
    public static void SiftUp(Span<float> v, Span<int> key, int c)
    {
        while (c > 0)
        {
            int p = (c - 1) >> 1;
            if (!Weaker(v, key, c, p)) return;
            Swap(v, key, c, p);
            c = p;
        }
    }

    /// <summary>Restores the heap of <paramref name="n"/> entries after replacing the root.</summary>
    public static void SiftDown(Span<float> v, Span<int> key, int n)
    {
        int p = 0;
        while (true)
        {
            int l = 2 * p + 1, r = l + 1, m = p;
            if (l < n && Weaker(v, key, l, m)) m = l;
            if (r < n && Weaker(v, key, r, m)) m = r;
            if (m == p) return;
            Swap(v, key, p, m);
            p = m;
        }
    }
}
