namespace SaeGpu.Kernels;

/// <summary>
/// Keeps only masked latents' pre-activations: <c>output[b, j] = mask[j] ≠ 0 ? pre[b, j] : 0</c>. Shapes: pre, output
/// [B, F]; mask [F]. AuxK selects among dead latents by running TopK on this (unmasked latents can never win a positive slot).
/// </summary>
public static partial class MaskLatents
{
    /// <summary>Scalar oracle.</summary>
    public static void Reference(ReadOnlySpan<float> pre, ReadOnlySpan<int> mask, Span<float> output)
    {
        int f = mask.Length;
        for (int q = 0; q < pre.Length; q++) output[q] = mask[q % f] != 0 ? pre[q] : 0f;
    }
}
