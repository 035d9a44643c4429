namespace SaeGpu.Kernels;

internal static partial class ExclusiveScan
{
    /// <summary>CPU path: the scan is O(n) and memory-bound, so the serial loop is the fast path.</summary>
    public static void Cpu(ReadOnlySpan<int> counts, Span<int> offsets) => Reference(counts, offsets);
}
