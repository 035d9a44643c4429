namespace SaeGpu.Kernels;

/// <summary>
/// A per-latent affine map of stored code values, in place: <c>values[e] = scale[j]·(values[e] − center[j])</c> for every
/// stored entry e of the CSR codes (j = indices[e], e &lt; offsets[B]); entries past offsets[B] are left alone. Shapes: offsets
/// [B+1], indices and values [capacity], scale and center [F]. Used by gated SAEs (magnitudes e^r·(π − θ) from the gate
/// pre-activations, and the magnitude path's gradient e^r·∂L/∂a).
/// </summary>
internal static partial class ScaleLatents
{
    /// <summary>Scalar oracle (float64 product).</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> scale, ReadOnlySpan<float> center,
        Span<float> values)
    {
        for (int e = 0; e < offsets[^1]; e++)
        {
            int j = indices[e];
            values[e] = (float)(scale[j] * ((double)values[e] - center[j]));
        }
    }
}
