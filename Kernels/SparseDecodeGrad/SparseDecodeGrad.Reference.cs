namespace SaeGpu.Kernels;

/// <summary>
/// Decode, error and the gradient w.r.t. the code values in one op — the plain SAE's loss stage:
/// <c>xhat [B, d] = bias + codes·W</c> (<see cref="SparseDecode"/>), <c>grad = scale·(xhat − x)</c> and
/// <c>sse[b] = Σ_i (xhat − x)²</c> (<see cref="ReconstructionError"/>), <c>gValues[p] = ⟨grad[row(p)], W[latent(p)]⟩ + shift</c>
/// (<see cref="ValueGrad"/>). Shapes: codes CSR over B rows, W [F, d], bias [d], x, xhat, grad [B, d], sse [B],
/// gValues [capacity]. Fusing lets the CPU path read each row's k rows of W once from memory and again from cache.
/// </summary>
internal static partial class SparseDecodeGrad
{
    /// <summary>Scalar oracle: the three ops' references in turn.</summary>
    public static void Reference(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values,
        ReadOnlySpan<float> w, ReadOnlySpan<float> bias, ReadOnlySpan<float> x, float scale, float shift,
        Span<float> xhat, Span<float> grad, Span<float> sse, Span<float> gValues)
    {
        SparseDecode.Reference(offsets, indices, values, w, bias, xhat);
        ReconstructionError.Reference(x, xhat, scale, grad, sse);
        ValueGrad.Reference(offsets, indices, grad, w, shift, gValues);
    }
}
