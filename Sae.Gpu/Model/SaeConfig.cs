namespace SaeGpu.Model;

/// <summary>Shape and sparsifier of a sparse autoencoder: input width d, number of latents F, sparsity k, architecture.</summary>
/// <param name="InputDim">d, the width of each activation vector x [B, d].</param>
/// <param name="Latents">F, the dictionary size (rows of W_enc [F, d] and W_dec [F, d]).</param>
/// <param name="K">
/// k, 1 ≤ k ≤ F: active latents per row for TopK/AbsTopK, the mean per row for BatchTopK/Mutual Choice/Feature Choice,
/// the cap on top-AFA's per-token count, and the target L0 of the ReLU, JumpReLU and GBA controllers.
/// </param>
/// <param name="Architecture">How the code is selected.</param>
public sealed record SaeConfig(int InputDim, int Latents, int K, Architecture Architecture = Architecture.TopK)
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid field.</summary>
    public SaeConfig Validate()
    {
        if (InputDim < 1) throw new ArgumentException($"SaeConfig.InputDim must be ≥ 1, got {InputDim}.");
        if (Latents < 1) throw new ArgumentException($"SaeConfig.Latents must be ≥ 1, got {Latents}.");
        if (K < 1 || K > Latents) throw new ArgumentException($"SaeConfig.K must be in [1, Latents = {Latents}], got {K}.");
        if (!Enum.IsDefined(Architecture)) throw new ArgumentException($"SaeConfig.Architecture {(int)Architecture} is not defined.");
        if ((long)Latents * InputDim > int.MaxValue)
            throw new ArgumentException($"SaeConfig: Latents·InputDim = {(long)Latents * InputDim} exceeds {int.MaxValue} elements.");
        return this;
    }
}
