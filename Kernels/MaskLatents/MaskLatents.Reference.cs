namespace SaeGpu.Kernels;

/// <summary>
/// Keeps only masked latents' pre-activations: <c>output[b, j] = mask[j] ≠ 0 ? pre[b, j] : 0</c>. Shapes: pre, output
/// [B, F]; mask [F]. TopK of this is AuxK's selection among dead latents (unmasked latents can never win a positive slot),
/// which <see cref="EncodeTopK"/> with a mask computes without pre [B, F].
/// </summary>
internal static partial class MaskLatents
{
    /// <summary>Scalar oracle.</summary>
    public static void Reference(ReadOnlySpan<float> pre, ReadOnlySpan<int> mask, Span<float> output)
    {
        int f = mask.Length;
        for (int q = 0; q < pre.Length; q++) output[q] = mask[q % f] != 0 ? pre[q] : 0f;
    }
}
