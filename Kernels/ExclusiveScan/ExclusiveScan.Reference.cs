namespace SaeGpu.Kernels;

/// <summary>
/// Offsets from counts: <c>offsets[0] = 0, offsets[i+1] = offsets[i] + counts[i]</c>. Shapes: counts [n], offsets [n+1].
/// Builds CSR row offsets from per-row counts and latent offsets from latent histograms.
/// </summary>
internal static partial class ExclusiveScan
{
    /// <summary>Scalar oracle.</summary>
    public static void Reference(ReadOnlySpan<int> counts, Span<int> offsets)
    {
        offsets[0] = 0;
        for (int i = 0; i < counts.Length; i++) offsets[i + 1] = offsets[i] + counts[i];
    }
}
