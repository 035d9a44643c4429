namespace SaeGpu.Kernels;

/// <summary>
/// Matching pursuit over a dictionary of unit atoms (as in ITDA, arXiv 2505.17769): per row, r = x; k times:
/// c_j = ⟨r, atoms[j]⟩ for every atom, j* = argmax |c_j| (larger |c| first, equal → lower index), a_{j*} += c_{j*},
/// r −= c_{j*}·atoms[j*]. A row stops early when every correlation is 0. An atom picked twice accumulates one coefficient,
/// so a row holds at most k distinct atoms. Shapes: x [B, d], atoms [n, d] (unit rows), codes CSR offsets [B+1] and
/// indices/values (capacity ≥ B·k) with each row's atoms ascending, residual [B, d] = x − codes·atoms.
/// </summary>
internal static partial class MatchingPursuit
{
    /// <summary>
    /// Scalar oracle with float64 correlations and residual. Returns the smallest margin (|c_{j*}| − |c_runner-up|)/‖x_row‖
    /// over all steps and rows (runner-up = the largest |c| strictly below the winner's): how far each choice is from being
    /// decided by rounding. The margin is relative to the row's input norm, not to |c_{j*}|: a float32 pursuit's
    /// correlations carry rounding errors of order ε·‖x_row‖, so once the residual has shrunk to that level its picks are
    /// noise however large their relative gap.
    /// </summary>
    public static double Reference(ReadOnlySpan<float> x, ReadOnlySpan<float> atoms, int k, Span<int> offsets, Span<int> indices,
        Span<float> values, Span<float> residual)
    {
        int b = offsets.Length - 1, d = x.Length / b, n = atoms.Length / d;
        var r = new double[d];
        var c = new double[n];
        double margin = 1;
        int pos = 0;
        offsets[0] = 0;
        for (int row = 0; row < b; row++)
        {
            double norm = 0;
            for (int i = 0; i < d; i++) { r[i] = x[row * d + i]; norm += r[i] * r[i]; }
            norm = Math.Sqrt(norm);
            var code = new SortedDictionary<int, double>();
            for (int step = 0; step < k; step++)
            {
                for (int j = 0; j < n; j++)
                {
                    c[j] = 0;
                    for (int i = 0; i < d; i++) c[j] += r[i] * atoms[j * d + i];
                }
                int best = 0;
                for (int j = 1; j < n; j++) if (Math.Abs(c[j]) > Math.Abs(c[best])) best = j;
                double top = Math.Abs(c[best]), runner = 0;
                if (top == 0) break;
                for (int j = 0; j < n; j++) if (Math.Abs(c[j]) < top) runner = Math.Max(runner, Math.Abs(c[j]));
                margin = Math.Min(margin, (top - runner) / norm);
                code[best] = code.GetValueOrDefault(best) + c[best];
                for (int i = 0; i < d; i++) r[i] -= c[best] * atoms[best * d + i];
            }
            foreach (var (j, a) in code) { indices[pos] = j; values[pos++] = (float)a; }
            offsets[row + 1] = pos;
            for (int i = 0; i < d; i++) residual[row * d + i] = (float)r[i];
        }
        return margin;
    }
}
