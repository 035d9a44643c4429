namespace SaeGpu.Kernels;

/// <summary>
/// Replaces the value of every stored code entry by the dense matrix entry it selects: <c>values[p] = pre[b, indices[p]]</c>
/// for entry p of row b (g-SAE chooses latents by a score but keeps the encoder activations). Shapes: CSR offsets [B+1],
/// indices/values [nnz], pre [B, F].
/// </summary>
internal static partial class GatherCodes
{
    /// <summary>Scalar oracle.</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> pre, Span<float> values)
    {
        int b = offsets.Length - 1, f = pre.Length / b;
        for (int r = 0; r < b; r++)
            for (int p = offsets[r]; p < offsets[r + 1]; p++) values[p] = pre[r * f + indices[p]];
    }
}
