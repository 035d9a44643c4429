namespace SaeGpu.Model;

/// <summary>Shape of a TopK sparse autoencoder: input width d, number of latents F, active latents per row k.</summary>
/// <param name="InputDim">d, the width of each activation vector x [B, d].</param>
/// <param name="Latents">F, the dictionary size (rows of W_enc [F, d] and W_dec [F, d]).</param>
/// <param name="K">k, the most latents active per row (TopK on ReLU(pre)); 1 ≤ k ≤ F.</param>
public sealed record SaeConfig(int InputDim, int Latents, int K)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public SaeConfig Validate()
    {
        if (InputDim < 1) throw new ArgumentException($"SaeConfig.InputDim must be ≥ 1, got {InputDim}.");
        if (Latents < 1) throw new ArgumentException($"SaeConfig.Latents must be ≥ 1, got {Latents}.");
        if (K < 1 || K > Latents) throw new ArgumentException($"SaeConfig.K must be in [1, Latents = {Latents}], got {K}.");
        if ((long)Latents * InputDim > int.MaxValue)
            throw new ArgumentException($"SaeConfig: Latents·InputDim = {(long)Latents * InputDim} exceeds {int.MaxValue} elements.");
        return this;
    }
}
