namespace SaeGpu.Training;

/// <summary>
/// Steers a sparsity coefficient so the measured L0 approaches a target (ours; used for ReLU's L1 and JumpReLU's L0 terms so
/// every architecture can be compared at matched L0): after each step, <c>λ ← λ · exp(rate · clamp(L0 / target − 1, −1, 1))</c>,
/// clamped to [1e-8, 1e4] — at most a factor e^rate per step, so early dense steps cannot blow λ up.
/// </summary>
public sealed class SparsityController(double initial, double target, double rate) : IResumable
{
    /// <summary>The current coefficient.</summary>
    public double Value { get; private set; } = initial;

    /// <summary>Moves the coefficient after a step that measured <paramref name="l0"/>.</summary>
    public void Observe(double l0) => Value = Math.Clamp(Value * Math.Exp(rate * Math.Clamp(l0 / target - 1, -1, 1)), 1e-8, 1e4);

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer) => writer.Write(Value);

    /// <inheritdoc />
    public void ReadState(BinaryReader reader) => Value = reader.ReadDouble();
}
