namespace SaeGpu;

/// <summary>
/// A stream of activation vectors x [B, d] to train or evaluate an SAE on: SaeGpu's <see cref="FileActivations"/> and
/// <see cref="SyntheticActivations"/>, or a source of your own (implement <see cref="InputDim"/> and
/// <see cref="NextBatch(Span{float})"/>; the other members are optional).
/// </summary>
public interface IActivationSource
{
    /// <summary>d, the width of each vector.</summary>
    int InputDim { get; }

    /// <summary>Fills <paramref name="destination"/> [B, d] (B = length / d) with the next B vectors of the stream.</summary>
    void NextBatch(Span<float> destination);

    /// <summary>
    /// True when the source supplies, with each vector, the gradient ∂L/∂x of a downstream loss
    /// (<see cref="NextBatch(Span{float}, Span{float})"/>), which g-SAE's selection needs. False unless implemented.
    /// </summary>
    bool ProvidesGradients => false;

    /// <summary>
    /// Fills x [B, d] with the next B vectors and <paramref name="gradients"/> [B, d] with ∂L/∂x of each; only when
    /// <see cref="ProvidesGradients"/> (throws <see cref="NotSupportedException"/> otherwise).
    /// </summary>
    void NextBatch(Span<float> x, Span<float> gradients) =>
        throw new NotSupportedException($"{GetType().Name} supplies no downstream gradients.");

    /// <summary>
    /// Writes the stream's position, so that a resumed <see cref="TrainingRun"/> sees exactly the data an uninterrupted run
    /// would. The default writes nothing: a source that does not implement this (and <see cref="ReadState"/>) resumes from
    /// wherever it stands.
    /// </summary>
    void WriteState(BinaryWriter writer) { }

    /// <summary>
    /// Restores the position written by <see cref="WriteState"/> into a source built with the same settings; throws
    /// <see cref="InvalidDataException"/> when the saved state does not fit them. The default reads nothing.
    /// </summary>
    void ReadState(BinaryReader reader) { }
}
