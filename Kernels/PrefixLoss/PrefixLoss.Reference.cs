namespace SaeGpu.Kernels;

/// <summary>
/// Fused Matryoshka prefix loss. Nested prefixes end at <c>ends[0] &lt; … &lt; ends[n−1] = F</c>; prefix i reconstructs
/// <c>x̂_i = bias + Σ_{p: indices[p] &lt; ends[i]} values[p]·W[indices[p]]</c> with error <c>e_i = x̂_i − x</c>, and the loss is
/// <c>L = ½ Σ_b Σ_i c_i ‖e_{b,i}‖²</c> (c_i = 2·w_i / (B·d) gives Σ_i w_i·MSE_i). One pass over a row's latent-ordered
/// entries keeps the running error of the current prefix, so no x̂ per prefix is formed. Outputs, for row b and group g
/// (latents [ends[g−1], ends[g])):
/// <list type="bullet">
/// <item><c>sse[b·n + i] = ‖e_{b,i}‖²</c> [B, n];</item>
/// <item><c>gGroup[b·n + g, :] = G_{b,g} = Σ_{i ≥ g} c_i e_{b,i}</c> [B·n, d]: ∂L/∂(contribution of a group-g latent);</item>
/// <item><c>gOut[b, :] = G_{b,0}</c> [B, d] = ∂L/∂bias per row;</item>
/// <item><c>gValues[p] = ⟨G_{b,g(p)}, W[indices[p]]⟩</c> [nnz] = ∂L/∂values[p];</item>
/// <item><c>groupOffsets [B·n + 1]</c>: row b's group-g entries start at groupOffsets[b·n + g]. These offsets with the same
/// indices and values are CSR codes of B·n rows whose row b·n + g pairs with gGroup's row b·n + g, so the decoder-row
/// gradient ∂L/∂W[j] = Σ_{entries p of j} values[p]·G_{row(p)} is <see cref="AggregateByLatent"/> over them (no atomics).</item>
/// </list>
/// Shapes: CSR codes offsets [B+1] / indices, values [nnz] with each row's indices ascending; W [F, d]; bias [d]; x [B, d];
/// ends [n] (int); coefficients [n].
/// </summary>
internal static partial class PrefixLoss
{
    /// <summary>Scalar oracle with float64 accumulation; prefix membership by index comparison, independent of entry order.</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, ReadOnlySpan<int> ends,
        ReadOnlySpan<float> coefficients, Span<int> groupOffsets, Span<float> gGroup, Span<float> gOut, Span<float> gValues,
        Span<float> sse)
    {
        int b = offsets.Length - 1, d = bias.Length, n = ends.Length;
        var e = new double[n * d];
        for (int r = 0; r < b; r++)
        {
            for (int g = 0; g < n; g++)
            {
                for (int i = 0; i < d; i++) e[g * d + i] = (double)bias[i] - x[r * d + i];
                int before = 0;
                for (int p = offsets[r]; p < offsets[r + 1]; p++)
                {
                    if (indices[p] >= ends[n - 1]) throw new ArgumentException($"Latent {indices[p]} lies beyond the last prefix end {ends[n - 1]}.");
                    if (g > 0 && indices[p] < ends[g - 1]) before++;
                    if (indices[p] >= ends[g]) continue;
                    for (int i = 0; i < d; i++) e[g * d + i] += (double)values[p] * w[indices[p] * d + i];
                }
                groupOffsets[r * n + g] = offsets[r] + before;
                double s = 0;
                for (int i = 0; i < d; i++) s += e[g * d + i] * e[g * d + i];
                sse[r * n + g] = (float)s;
            }
            for (int g = n - 1; g >= 0; g--)
                for (int i = 0; i < d; i++)
                    e[g * d + i] = coefficients[g] * e[g * d + i] + (g + 1 < n ? e[(g + 1) * d + i] : 0);
            for (int g = 0; g < n; g++)
                for (int i = 0; i < d; i++) gGroup[(r * n + g) * d + i] = (float)e[g * d + i];
            for (int i = 0; i < d; i++) gOut[r * d + i] = (float)e[i];
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
            {
                int g = 0;
                while (indices[p] >= ends[g]) g++;
                double acc = 0;
                for (int i = 0; i < d; i++) acc += e[g * d + i] * w[indices[p] * d + i];
                gValues[p] = (float)acc;
            }
        }
        groupOffsets[b * n] = offsets[b];
    }
}
