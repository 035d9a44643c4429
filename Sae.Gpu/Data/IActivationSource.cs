namespace SaeGpu.Data;

/// <summary>A stream of activation vectors x [B, d] to train or evaluate an SAE on.</summary>
public interface IActivationSource
{
    /// <summary>d, the width of each vector.</summary>
    int InputDim { get; }

    /// <summary>Fills <paramref name="destination"/> [B, d] (B = length / d) with the next B vectors of the stream.</summary>
    void NextBatch(Span<float> destination);
}

/// <summary>A synthetic source whose true feature directions are known, so recovery can be measured.</summary>
public interface IGroundTruthSource : IActivationSource
{
    /// <summary>True feature directions [N, d], unit rows.</summary>
    float[] Directions { get; }
}

/// <summary>A source that also supplies, per activation, the gradient of a downstream loss w.r.t. it (what g-SAE selects with).</summary>
public interface IGradientSource : IActivationSource
{
    /// <summary>Fills x [B, d] with the next B activations and gradients [B, d] with ∂L/∂x of each.</summary>
    void NextBatch(Span<float> x, Span<float> gradients);
}
