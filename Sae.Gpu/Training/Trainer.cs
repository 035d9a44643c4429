using SaeGpu.Architectures;
using SaeGpu.Compute;
using SaeGpu.Evaluation;
using SaeGpu.Training;
using SaeGpu.Data;

namespace SaeGpu;

/// <summary>
/// What one training step measured. MSE = Σ‖x̂ − x‖² / (B·d); FVU = Σ‖x̂ − x‖² / Σ‖x − x̄‖²; Loss = the objective the step
/// differentiated (the reconstruction term — the weighted prefix MSEs for a Matryoshka SAE — plus α·L_aux and the
/// architecture's terms).
/// </summary>
/// <param name="Step">1-based step number.</param>
/// <param name="Loss">The objective of the batch before the update (what <see cref="Trainer.ComputeGradients(ReadOnlySpan{float})"/> returns).</param>
/// <param name="Mse">Element-wise MSE of the full reconstruction before the update.</param>
/// <param name="Fvu">Fraction of variance unexplained of the batch.</param>
/// <param name="L0">Mean active latents per row.</param>
/// <param name="DeadFraction">Fraction of latents dead after this step.</param>
/// <param name="LearningRate">Rate used by this step.</param>
/// <param name="AuxLoss">L_aux of the auxiliary term (before its coefficient); 0 when inactive.</param>
/// <param name="PrefixFvu">Matryoshka: FVU of each prefix reconstruction (the last is <paramref name="Fvu"/>); null otherwise.</param>
public readonly record struct StepResult(int Step, double Loss, double Mse, double Fvu, double L0, double DeadFraction, double LearningRate,
    double AuxLoss = 0, IReadOnlyList<double>? PrefixFvu = null);

/// <summary>
/// Trains a <see cref="SparseAutoencoder"/> of any architecture with Adam on any backend. One <see cref="Step(ReadOnlySpan{float})"/> runs
/// named stages, all on the SAE's backend: encode and select, the reconstruction error, the decoder and encoder gradients
/// (both sparse, O(B·k·d)), the auxiliary loss, the decoder-bias gradient, Adam, the decoder normalization and the
/// bookkeeping; the architecture (<see cref="ArchitectureTraining"/>) supplies or extends the stages that differ. After the
/// dense encode GEMM every stage is sparse, one pass over [B, F] (selection) or one pass over the weights; per-token TopK
/// rules fuse the selection into the encode (<c>Backend.EncodeTopK</c>), so their steps hold no [B, F] matrix. A
/// Matryoshka SAE swaps the error stage for the fused prefix loss (<see cref="MatryoshkaLoss"/>). The trainer owns its
/// scratch tensors: dispose it (the SAE stays the caller's).
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly Backend be;
    private readonly int b, d, f;
    private readonly ArchitectureTraining training;
    private readonly Tensor<float> xhat, sse, gWDec, gWEnc, gBEnc, gBDec, valueSums, zeroD;
    private readonly AdamOptimizer adam;
    private readonly Tensor<float>[] gradients;
    private readonly Dictionary<string, Tensor<float>> gradientsByName;
    private readonly AuxiliaryLoss? aux;
    private readonly MatryoshkaLoss? matryoshka;
    private readonly float[] sseHost;
    private readonly int[] auxMaskHost;
    private double mainSse, auxLoss;
    private int step;

    /// <summary>Prepares training of <paramref name="sae"/> with <paramref name="config"/> (validated).</summary>
    public Trainer(SparseAutoencoder sae, TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentNullException.ThrowIfNull(config);
        Sae = sae;
        Config = config.Validate(sae.Config);
        be = sae.Backend;
        (b, d, f) = (config.BatchSize, sae.Config.InputDim, sae.Config.Latents);
        training = sae.Config.Strategy.CreateTraining(this);
        Codes = new SparseCodes(be, b, training.Capacity);
        long bd = (long)b * d, fd = (long)f * d;
        (X, xhat, GradOutput) = (be.Allocate<float>(bd), be.Allocate<float>(bd), be.Allocate<float>(bd));
        if (training.NeedsPre) Pre = be.Allocate<float>((long)b * f);
        if (training.NeedsDownstreamGradients) Downstream = be.Allocate<float>(bd);
        (sse, GradValues) = (be.Allocate<float>(b), be.Allocate<float>(Codes.Capacity));
        (gWDec, gWEnc) = (be.Allocate<float>(fd), be.Allocate<float>(fd));
        (gBEnc, valueSums, gBDec, zeroD) = (be.Allocate<float>(f), be.Allocate<float>(f), be.Allocate<float>(d), be.Allocate<float>(d));
        Counts = be.Allocate<int>(f);
        var extra = training.ExtraParameters;
        adam = new AdamOptimizer(be, [sae.WEnc, sae.BEnc, sae.WDec, sae.BDec, .. extra.Select(p => p.Parameter)], config.Beta1, config.Beta2, config.Epsilon);
        gradients = [gWEnc, gBEnc, gWDec, gBDec, .. extra.Select(p => p.Gradient)];
        gradientsByName = new() { ["W_enc"] = gWEnc, ["b_enc"] = gBEnc, ["W_dec"] = gWDec, ["b_dec"] = gBDec };
        foreach (var (parameter, gradient) in extra) gradientsByName[sae.Parameters.First(p => ReferenceEquals(p.Tensor, parameter)).Name] = gradient;
        if (config.AuxLoss != AuxLossKind.None && config.AuxCoefficient > 0)
            aux = new AuxiliaryLoss(sae, b, config.AuxK ?? Math.Max(1, d / 2));
        if (sae.Config.IsMatryoshka) matryoshka = new MatryoshkaLoss(sae, Codes, config);
        Frequency = new FiringFrequency(f);
        (sseHost, CountsHost, auxMaskHost) = (new float[b], new int[f], new int[f]);
        Dead = new DeadLatentTracker(f, config.EffectiveDeadAfterTokens);
    }

    /// <summary>The SAE being trained.</summary>
    public SparseAutoencoder Sae { get; }

    /// <summary>The training settings (validated).</summary>
    public TrainConfig Config { get; }

    /// <summary>Rows B per step.</summary>
    public int BatchSize => b;

    /// <summary>Dead-latent bookkeeping (tokens since each latent fired).</summary>
    internal DeadLatentTracker Dead { get; }

    /// <summary>EMA firing frequency of each latent (per token), updated every step.</summary>
    internal FiringFrequency Frequency { get; }

    /// <summary>Each latent's firing frequency per token [F]: an exponential moving average (decay 0.99 per step).</summary>
    public IReadOnlyList<double> FiringFrequencies => Frequency.Values;

    /// <summary>Fraction of latents dead now: not fired for <see cref="TrainConfig.EffectiveDeadAfterTokens"/> tokens.</summary>
    public double DeadFraction => Dead.DeadFraction;

    /// <summary>Steps taken so far.</summary>
    public int StepsTaken => step;

    /// <summary>Current coefficient of a steered sparsity penalty (ReLU's L1, JumpReLU's L0); null for other architectures.</summary>
    public double? SparsityCoefficient => training.SparsityCoefficient;

    /// <summary>Gradient of the loss w.r.t. W_enc [F, d] after <see cref="ComputeGradients(ReadOnlySpan{float})"/> (unused for GBA, whose encoder is tied).</summary>
    internal Tensor<float> GradWEnc => gWEnc;

    /// <summary>Gradient w.r.t. b_enc [F] (zero for GBA, whose biases are adapted instead).</summary>
    internal Tensor<float> GradBEnc => gBEnc;

    /// <summary>Gradient w.r.t. W_dec [F, d] (before the parallel component is removed; for GBA, of the tied direction).</summary>
    internal Tensor<float> GradWDec => gWDec;

    /// <summary>Gradient w.r.t. b_dec [d] (through both the output and the encoder's centering).</summary>
    internal Tensor<float> GradBDec => gBDec;

    /// <summary>The gradient of each parameter of <see cref="SparseAutoencoder.Parameters"/> by name, after <see cref="ComputeGradients(ReadOnlySpan{float})"/>.</summary>
    public Tensor<float> Gradient(string name) =>
        gradientsByName.GetValueOrDefault(name)
        ?? throw new ArgumentException($"No trained parameter '{name}'; the trained ones are {string.Join(", ", gradientsByName.Keys)}.", nameof(name));

    /// <summary>The Matryoshka term (prefix sizes, weights, per-prefix errors of the last step); null for a plain SAE.</summary>
    internal MatryoshkaLoss? Matryoshka => matryoshka;

    /// <summary>The sparse codes of the last batch, on the SAE's backend.</summary>
    public SparseCodes Codes { get; }

    internal Tensor<float> X { get; }
    internal Tensor<float>? Pre { get; }
    internal Tensor<float>? Downstream { get; }
    internal Tensor<float> GradOutput { get; }
    internal Tensor<float> GradValues { get; }
    internal Tensor<int> Counts { get; }

    /// <summary>Σ of the code values per latent [F] from the decoder-gradient stage.</summary>
    internal Tensor<float> ValueSums => valueSums;

    /// <summary>Entries per latent [F] of the last step (on the host, after the encoder-gradient stage).</summary>
    internal int[] CountsHost { get; }

    /// <summary>Entries of the last step's codes (Σ <see cref="CountsHost"/>).</summary>
    internal long Entries { get; private set; }

    /// <summary>Mean entries per row of the last step.</summary>
    internal double L0 => (double)Entries / b;

    /// <summary>The value of the architecture's option <paramref name="name"/> in this run.</summary>
    internal double Option(string name) => Config.OptionValue(Sae.Config.Strategy, name);

    /// <summary>
    /// One optimizer step on host rows <paramref name="batch"/> [B, d]; the first step sets b_dec to the batch mean when
    /// <see cref="TrainConfig.InitializeDecoderBias"/>.
    /// </summary>
    public StepResult Step(ReadOnlySpan<float> batch) => Step(batch, default);

    /// <summary>
    /// One optimizer step on host rows <paramref name="batch"/> [B, d] with the downstream loss gradients [B, d] w.r.t. those
    /// rows (required by g-SAE, ignored otherwise).
    /// </summary>
    public StepResult Step(ReadOnlySpan<float> batch, ReadOnlySpan<float> gradients)
    {
        CheckBatch(batch, gradients);
        double lr = Config.LearningRateAt(step, f);
        if (step == 0 && Config.InitializeDecoderBias) InitializeDecoderBias(batch);
        double loss = ComputeGradients(batch, gradients);
        ProjectDecoderGradient();
        adam.Step(this.gradients, lr);
        NormalizeDecoder();
        training.AfterUpdate();
        step++;
        return Measure(batch, lr, loss);
    }

    /// <summary>Sets b_dec to the column mean of <paramref name="batch"/> [B, d] (what the first step does by default).</summary>
    public void InitializeDecoderBias(ReadOnlySpan<float> batch)
    {
        if (batch.Length == 0 || batch.Length % d != 0)
            throw new ArgumentException($"Batch has {batch.Length} values, which is not a positive multiple of d = {d}.", nameof(batch));
        be.Upload<float>(Metrics.ColumnMean(batch, d), Sae.BDec);
    }

    /// <summary>
    /// Forward and backward pass on <paramref name="batch"/> [B, d] without changing the weights; fills the Grad* tensors and
    /// returns the objective L they are the gradient of: the element MSE Σ‖x̂ − x‖² / (B·d) with x̂ = codes·W_dec + b_dec
    /// (Matryoshka: Σ_i w_i‖x̂_i − x‖² / (B·d) over the prefix reconstructions), plus α·L_aux and the architecture's terms
    /// (e.g. λ/B·Σ a_j‖d_j‖ for ReLU, λ/B·Σ H(pre − θ) for JumpReLU).
    /// </summary>
    public double ComputeGradients(ReadOnlySpan<float> batch) => ComputeGradients(batch, default);

    /// <summary>As <see cref="ComputeGradients(ReadOnlySpan{float})"/>, with downstream gradients [B, d] for g-SAE's selection.</summary>
    public double ComputeGradients(ReadOnlySpan<float> batch, ReadOnlySpan<float> gradients)
    {
        CheckBatch(batch, gradients);
        if (Downstream is not null) be.Upload(gradients, Downstream);
        be.Upload(batch, X);
        training.Select();
        double loss = ComputeError();
        loss += training.AddValueGradients();
        DecoderGradient();
        training.EncoderGradients();
        CountEntries();
        loss += AuxiliaryTerm();
        loss += training.AddParameterGradients();
        training.DecoderBiasGradient();
        return loss;
    }

    private void CheckBatch(ReadOnlySpan<float> batch, ReadOnlySpan<float> gradients)
    {
        if (batch.Length != (long)b * d)
            throw new ArgumentException($"Batch has {batch.Length} values; expected B·d = {b}·{d} = {(long)b * d}.", nameof(batch));
        if (Downstream is not null && gradients.Length != (long)b * d)
            throw new ArgumentException($"{Sae.Config.Architecture} needs downstream gradients of B·d = {(long)b * d} values with each batch; got {gradients.Length}.", nameof(gradients));
        CheckFinite(batch, "Batch", nameof(batch));
        if (Downstream is not null) CheckFinite(gradients, "Downstream gradients", nameof(gradients));
    }

    // A NaN or ±Inf input would train to NaN weights without an error: refuse it, naming the row and column.
    private void CheckFinite(ReadOnlySpan<float> values, string what, string name)
    {
        int i = Finite.IndexOfNonFinite(values);
        if (i >= 0)
            throw new ArgumentException($"{what} row {i / d}, column {i % d} is {values[i]} (step {step + 1}); training needs finite values.", name);
    }

    // Plain SAEs: x̂, the error, its gradient and the value gradients in one fused op. Matryoshka: the fused prefix loss
    // (which writes the value gradients too), and the full x̂ only for the auxiliary loss's residual.
    private double ComputeError()
    {
        if (matryoshka is not null)
        {
            if (aux is not null) be.SparseDecode(Codes, Sae.WDec, Sae.BDec, xhat);
            double loss = matryoshka.Forward(Sae, Codes, X, GradOutput, GradValues);
            mainSse = matryoshka.PrefixSse[^1];
            return loss;
        }
        be.SparseDecodeGrad(Codes, Sae.WDec, Sae.BDec, X, 2f / (b * (float)d), training.ValueGradientShift, xhat, GradOutput, sse, GradValues);
        be.Download(sse, sseHost);
        mainSse = 0;
        foreach (float s in sseHost) mainSse += s;
        return mainSse / ((double)b * d);
    }

    // ∂L/∂W_dec: per latent, Σ a·gOut (Matryoshka: over the codes split into prefix groups); also Σ a per latent.
    private void DecoderGradient()
    {
        if (matryoshka is not null) matryoshka.DecoderGrad(Codes.Values, gWDec, valueSums, Counts);
        else be.AggregateByLatent(Codes, Codes.Values, GradOutput, zeroD, false, gWDec, valueSums, Counts);
    }

    private void CountEntries()
    {
        be.Download(Counts, CountsHost);
        long nnz = 0;
        foreach (int c in CountsHost) nnz += c;
        Entries = nnz;
    }

    private double AuxiliaryTerm()
    {
        auxLoss = 0;
        if (aux is null) return 0;
        if (Config.AuxLoss == AuxLossKind.AuxZipf) Frequency.FillUnderusedMask(Dead, auxMaskHost);
        else Dead.FillDeadMask(auxMaskHost);
        auxLoss = aux.Apply(auxMaskHost, Config.AuxCoefficient, Sae, X, xhat, mainSse, gWEnc, gBEnc, gWDec);
        return Config.AuxCoefficient * auxLoss;
    }

    private void ProjectDecoderGradient() => be.RemoveParallelGrad(Sae.WDec, d, parallelOnly: false, gWDec);

    private void NormalizeDecoder() => be.NormalizeRows(d, Sae.WDec);

    private StepResult Measure(ReadOnlySpan<float> batch, double lr, double loss)
    {
        Dead.Update(CountsHost, b);
        Frequency.Update(CountsHost, b);
        training.Observe();
        double variance = Metrics.TotalVariance(batch, d);
        return new StepResult(step, loss, mainSse / ((double)b * d), mainSse / variance, L0, Dead.DeadFraction, lr, auxLoss,
            matryoshka?.PrefixSse.Select(s => s / variance).ToArray());
    }

    /// <summary>
    /// Writes everything later steps depend on: the shape (checked on restore), the step, the SAE's parameters, Adam's
    /// moments, the dead-latent and firing statistics, the architecture's state (controllers, random streams, GBA's window)
    /// and the random stream of Matryoshka prefixes. Scratch tensors are rebuilt by every step and are not saved.
    /// </summary>
    internal void WriteState(BinaryWriter writer)
    {
        writer.WriteShape(Shape());
        writer.Write(step);
        foreach (var (_, t) in Sae.Parameters) writer.WriteTensor(be, t);
        foreach (var part in StateParts()) part.WriteState(writer);
    }

    /// <summary>
    /// Restores the state written by <see cref="WriteState"/> into this trainer (built for the same SAE shape and
    /// <see cref="TrainConfig"/>) and its SAE; throws <see cref="InvalidDataException"/> naming the first mismatch.
    /// </summary>
    internal void ReadState(BinaryReader reader)
    {
        reader.ExpectShape(Shape());
        step = reader.ReadInt32();
        if (step < 0) throw new InvalidDataException($"Step {step} is negative.");
        foreach (var (name, t) in Sae.Parameters) reader.ReadTensor(be, t, name);
        foreach (var part in StateParts()) part.ReadState(reader);
    }

    private (string Name, long Value)[] Shape() =>
        [("Batch size", b), ("Input width d", d), ("Latents F", f), ("k", Sae.Config.K),
         ("Architecture (hash of its name)", TrainingState.StableHash(Sae.Config.Architecture)), ("Number of Matryoshka widths", Sae.Config.MatryoshkaWidths?.Count ?? 0)];

    private IEnumerable<IResumable> StateParts() =>
        new IResumable?[] { adam, Dead, Frequency, training, matryoshka }.OfType<IResumable>();

    /// <summary>Frees the trainer's scratch tensors and optimizer state.</summary>
    public void Dispose()
    {
        training.Dispose();
        Codes.Dispose();
        Pre?.Dispose();
        Downstream?.Dispose();
        foreach (var t in new[] { X, xhat, GradOutput, sse, GradValues, gWDec, gWEnc, gBEnc, gBDec, valueSums, zeroD }) t.Dispose();
        Counts.Dispose();
        adam.Dispose();
        aux?.Dispose();
        matryoshka?.Dispose();
    }
}
