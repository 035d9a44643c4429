namespace SaeGpu.Kernels;

/// <summary>
/// Largest value of each column, floored at 0: <c>max[j] = max(0, max_b pre[b, j])</c>. Shapes: pre [B, F], max [F].
/// GBA's per-latent activation scale r_m.
/// </summary>
internal static partial class ColumnMax
{
    /// <summary>Scalar oracle.</summary>
    public static void Reference(ReadOnlySpan<float> pre, Span<float> max)
    {
        int f = max.Length;
        max.Clear();
        for (int q = 0; q < pre.Length; q++) max[q % f] = Math.Max(max[q % f], pre[q]);
    }
}
