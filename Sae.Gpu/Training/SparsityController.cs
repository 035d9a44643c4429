namespace SaeGpu.Training;

/// <summary>
/// Steers a sparsity coefficient so the measured L0 approaches a target (ours; used for the penalties of ReLU, JumpReLU and
/// their variants so every architecture can be compared at matched L0): after each step,
/// <c>λ ← λ · exp(rate · clamp(L0 / target − 1, −1, 1))</c>, clamped to [1e-8, 1e4] — at most a factor e^rate per step, so
/// early dense steps cannot blow λ up. A rate of 0 keeps λ fixed.
/// </summary>
internal sealed class SparsityController(double initial, double target, double rate) : IResumable
{
    /// <summary>The option <c>sparsity-rate</c>: the controller's rate r.</summary>
    public static ArchitectureOption RateOption { get; } = ArchitectureOption.NonNegative("sparsity-rate", 0.02,
        "per-step rate r of the controller that steers the penalty toward L0 = k: λ ← λ·exp(r·clamp(L0/k − 1, −1, 1)) (0 = fixed λ)");

    /// <summary>The controller of <paramref name="trainer"/>'s run: λ starts at option <paramref name="initialOption"/>, target L0 = k, rate <c>sparsity-rate</c>.</summary>
    public static SparsityController For(Trainer trainer, string initialOption) =>
        new(trainer.Option(initialOption), trainer.Sae.Config.K, trainer.Option("sparsity-rate"));

    /// <summary>The current coefficient.</summary>
    public double Value { get; private set; } = initial;

    /// <summary>Moves the coefficient after a step that measured <paramref name="l0"/>.</summary>
    public void Observe(double l0) => Value = Math.Clamp(Value * Math.Exp(rate * Math.Clamp(l0 / target - 1, -1, 1)), 1e-8, 1e4);

    /// <inheritdoc />
    public void WriteState(BinaryWriter writer) => writer.Write(Value);

    /// <inheritdoc />
    public void ReadState(BinaryReader reader) => Value = reader.ReadDouble();
}
