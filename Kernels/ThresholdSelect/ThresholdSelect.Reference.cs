namespace SaeGpu.Kernels;

/// <summary>
/// Selection by per-latent thresholds into CSR codes: entry (b, j) of pre [B, F] is kept, with its value, when
/// <c>pre[b, j] &gt; 0</c> and (<c>pre[b, j] &gt; thresholds[j]</c> or (<c>pre[b, j] == thresholds[j]</c> and <c>b ≤ cuts[j]</c>)).
/// The cut resolves ties at a threshold in row order, so batch-level selections (BatchTopK / Mutual Choice, Feature
/// Choice) keep exactly their budget under the tie rule. ReLU is thresholds = 0, cuts = −1; JumpReLU is thresholds = θ.
/// Shapes: thresholds, cuts [F]; offsets [B+1]; indices/values [capacity]. Rows come out ordered by latent index.
/// Throws when more than capacity entries pass (the GPU backend checks the scanned total before filling; its fill kernel
/// also never writes past capacity).
/// </summary>
internal static partial class ThresholdSelect
{
    /// <summary>True when entry (row b, latent j) with value v passes.</summary>
    public static bool Keep(float v, float threshold, int cut, int b) => v > 0f && (v > threshold || (v == threshold && b <= cut));

    /// <summary>Scalar oracle.</summary>
    public static void Reference(ReadOnlySpan<float> pre, ReadOnlySpan<float> thresholds, ReadOnlySpan<int> cuts,
        Span<int> offsets, Span<int> indices, Span<float> values)
    {
        int f = thresholds.Length, b = pre.Length / f, pos = 0;
        offsets[0] = 0;
        for (int r = 0; r < b; r++)
        {
            for (int j = 0; j < f; j++)
            {
                float v = pre[r * f + j];
                if (!Keep(v, thresholds[j], cuts[j], r)) continue;
                if (pos >= indices.Length) throw CapacityExceeded(indices.Length);
                indices[pos] = j;
                values[pos++] = v;
            }
            offsets[r + 1] = pos;
        }
    }

    private static InvalidOperationException CapacityExceeded(int capacity) =>
        new($"ThresholdSelect: more than {capacity} entries pass; the sparse codes need a larger capacity.");
}
