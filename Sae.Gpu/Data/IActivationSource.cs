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
