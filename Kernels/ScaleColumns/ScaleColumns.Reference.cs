namespace SaeGpu.Kernels;

/// <summary>
/// A per-column affine map of a dense matrix: <c>output[b, j] = scale[j]·(input[b, j] − center[j])</c>. Shapes: input, output
/// [B, F], scale and center [F]. With scale 0 the column is zeroed. Used by JumpReLU's pre-activation loss (θ − pre on the
/// dead latents' columns, 0 elsewhere).
/// </summary>
internal static partial class ScaleColumns
{
    /// <summary>Scalar oracle (float64 product).</summary>
    public static void Reference(ReadOnlySpan<float> input, ReadOnlySpan<float> scale, ReadOnlySpan<float> center, Span<float> output)
    {
        int f = scale.Length;
        for (int q = 0; q < input.Length; q++) output[q] = (float)(scale[q % f] * ((double)input[q] - center[q % f]));
    }
}
