namespace SaeGpu.Kernels;

/// <summary>
/// The int8 screen of TopK-style selection (issue 19; used by <see cref="EncodeTopK.Cpu"/>): an approximate
/// pre-activation from int8 rows, and a rigorous bound on its distance to the fp32 pre-activation that
/// <see cref="CpuGemm"/> computes, so that only latents whose interval [approx − bound, approx + bound] can reach a row's
/// top k need the exact fp32 value.
/// <para>
/// Quantization, per row v [d] (a centered input row x̃ or a W_enc row w_j) to L levels (127, or 63 for W_enc rows with
/// the kernel without VNNI, see <see cref="LevelsOf"/>): scale s = max|v_i| / L (0 for a zero row), q_i = round(v_i / s) ∈ [−L, L].
/// Approximate dot: s_x·s_w·Σ q_x,i·q_w,i (exact in int32 for d &lt; 133,000).
/// Bound, by Cauchy–Schwarz on the exact quantization residuals r = v − s·q:
/// |x̃·w − s_x s_w q_x·q_w| ≤ ‖r_x‖₂‖w‖₂ + ‖s_x q_x‖₂‖r_w‖₂; plus the fp32 path's own rounding,
/// |pre_fp32 − (x̃·w + b)| ≤ γ_n (‖x̃‖₂‖w‖₂ + |b|) with γ_n = n·u / (1 − n·u), u = 2⁻²⁴ and n = ⌊d/8⌋ + 13 (the depth of
/// CpuGemm's summation: an 8-lane FMA chain, three lane-sum levels, the bias, a scalar tail of at most 7 products); plus
/// 2⁻⁴⁰ of the total for the float64 arithmetic of the screen itself. Norms are accumulated in float64.
/// </para>
/// </summary>
internal static partial class Int8Screen
{
    /// <summary>
    /// Quantizes rows [n, d] (row-major) to q [n, d] in [−levels, levels] with one scale per row, and returns per row ‖v‖₂,
    /// ‖v − s·q‖₂ and ‖s·q‖₂ (float64). A row holding NaN or ±Inf gets scale NaN: the screen does not apply to it.
    /// </summary>
    public static void QuantizeRows(ReadOnlySpan<float> rows, int d, int levels, Span<sbyte> q, Span<float> scale, Span<RowNorms> norms)
    {
        int n = rows.Length / d;
        for (int r = 0; r < n; r++) (scale[r], norms[r]) = QuantizeRow(rows.Slice(r * d, d), levels, q.Slice(r * d, d));
    }

    /// <summary>One row of <see cref="QuantizeRows"/>: fills q [d] and returns the row's scale and norms.</summary>
    public static (float Scale, RowNorms Norms) QuantizeRow(ReadOnlySpan<float> v, int levels, Span<sbyte> q)
    {
        float max = 0;
        foreach (float x in v) max = Math.Max(max, Math.Abs(x));
        if (!float.IsFinite(max))
        {
            q.Clear();
            return (float.NaN, new RowNorms(double.NaN, double.NaN, double.NaN));
        }
        float s = max / levels;
        double full = 0, residual = 0, quantized = 0;
        for (int i = 0; i < v.Length; i++)
        {
            q[i] = s == 0 ? (sbyte)0 : (sbyte)Math.Clamp(MathF.Round(v[i] / s), -levels, levels);
            double approx = (double)s * q[i], e = v[i] - approx;
            (full, residual, quantized) = (full + (double)v[i] * v[i], residual + e * e, quantized + approx * approx);
        }
        return (s, new RowNorms(Math.Sqrt(full), Math.Sqrt(residual), Math.Sqrt(quantized)));
    }

    /// <summary>Σ a_i·b_i of two int8 rows, exactly (scalar).</summary>
    public static int DotReference(ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b)
    {
        int sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>
    /// The approximate x̃·w_j + b_j from the int8 dot <paramref name="dot"/> of the two quantized rows, and the bound on its
    /// distance to CpuGemm's fp32 pre-activation (see the class summary); d is the row length.
    /// </summary>
    public static (double Approx, double Bound) Estimate(int dot, float scaleX, RowNorms x, float scaleW, RowNorms w, float bias, int d)
    {
        double approx = (double)scaleX * scaleW * dot + bias;
        double quantization = x.Residual * w.Full + x.Quantized * w.Residual;
        double rounding = Gamma(d) * (x.Full * w.Full + Math.Abs(bias));
        double bound = quantization + rounding;
        return (approx, bound + Math.Pow(2, -40) * (Math.Abs(approx) + bound));
    }

    /// <summary>γ_n = n·u / (1 − n·u) with u = 2⁻²⁴ and n = ⌊d/8⌋ + 13: the relative rounding bound of CpuGemm's fp32 dot.</summary>
    public static double Gamma(int d)
    {
        double n = d / 8 + 13, u = Math.Pow(2, -24);
        return n * u / (1 - n * u);
    }
}

/// <summary>Float64 norms of one row v and of its quantization s·q: ‖v‖₂, ‖v − s·q‖₂ and ‖s·q‖₂.</summary>
/// <param name="Full">‖v‖₂.</param>
/// <param name="Residual">‖v − s·q‖₂.</param>
/// <param name="Quantized">‖s·q‖₂.</param>
internal readonly record struct RowNorms(double Full, double Residual, double Quantized);
