namespace SaeGpu.Kernels;

/// <summary>
/// Removes from each decoder-row gradient its component along the row:
/// <c>g[j, :] ← g[j, :] − (⟨g[j, :], w[j, :]⟩ / ‖w[j, :]‖²) · w[j, :]</c> (rows with w = 0 are left alone).
/// Keeps a unit-norm decoder on its sphere to first order. With parallelOnly the complement is kept instead,
/// <c>g[j, :] ← (⟨g[j, :], w[j, :]⟩ / ‖w[j, :]‖²) · w[j, :]</c> (rows with w = 0 become 0) — the projection that ties an
/// encoder row's direction to its decoder row (GBA). Shapes: w, g [F, d].
/// </summary>
internal static partial class RemoveParallelGrad
{
    /// <summary>Scalar oracle with float64 accumulation.</summary>
    public static void Reference(ReadOnlySpan<float> w, int d, bool parallelOnly, Span<float> g)
    {
        for (int j = 0; j < w.Length / d; j++)
        {
            double dot = 0, nn = 0;
            for (int i = 0; i < d; i++) { dot += (double)g[j * d + i] * w[j * d + i]; nn += (double)w[j * d + i] * w[j * d + i]; }
            double c = nn == 0 ? 0 : dot / nn;
            for (int i = 0; i < d; i++) g[j * d + i] = (float)(parallelOnly ? c * w[j * d + i] : g[j * d + i] - c * w[j * d + i]);
        }
    }
}
