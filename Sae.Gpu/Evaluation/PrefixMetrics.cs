using SaeGpu.Compute;

namespace SaeGpu.Evaluation;

/// <summary>Reconstruction quality of each nested prefix of a Matryoshka SAE.</summary>
internal static class PrefixMetrics
{
    /// <summary>
    /// FVU of x̂_i = a[:, 0:m_i]·W_dec[0:m_i] + b_dec for each width m_i of <paramref name="sae"/>'s
    /// <see cref="SaeConfig.MatryoshkaWidths"/> (the code a is the full inference encoding of x [B, d]); the last is the
    /// SAE's FVU. Throws for a plain SAE.
    /// </summary>
    public static double[] PrefixFvu(SparseAutoencoder sae, ReadOnlySpan<float> x)
    {
        ArgumentNullException.ThrowIfNull(sae);
        var widths = sae.Config.MatryoshkaWidths ?? throw new ArgumentException("PrefixFvu needs a Matryoshka SAE (SaeConfig.MatryoshkaWidths).");
        using var codes = sae.EncodeCodes(x);
        var (offsets, indices, values) = codes.ToHost();
        var fvu = new double[widths.Count];
        for (int w = 0; w < widths.Count; w++)
        {
            using var prefix = Truncate(sae.Backend, offsets, indices, values, widths[w]);
            fvu[w] = Metrics.Fvu(x, sae.Decode(prefix), sae.Config.InputDim);
        }
        return fvu;
    }

    // The entries with latent < width of every row, as new codes.
    private static SparseCodes Truncate(Backend backend, int[] offsets, int[] indices, float[] values, int width)
    {
        var o = new int[offsets.Length];
        var (idx, val) = (new List<int>(indices.Length), new List<float>(values.Length));
        for (int r = 0; r + 1 < offsets.Length; r++)
        {
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
                if (indices[p] < width) { idx.Add(indices[p]); val.Add(values[p]); }
            o[r + 1] = idx.Count;
        }
        return SparseCodes.FromHost(backend, o, idx.ToArray(), val.ToArray());
    }
}
