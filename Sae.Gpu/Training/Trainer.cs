using SaeGpu.Compute;
using SaeGpu.Evaluation;
using SaeGpu.Model;

namespace SaeGpu.Training;

/// <summary>What one training step measured. Loss = element-MSE Σ‖x̂ − x‖² / (B·d); FVU = Σ‖x̂ − x‖² / Σ‖x − x̄‖².</summary>
/// <param name="Step">1-based step number.</param>
/// <param name="Loss">Element-wise MSE of the batch before the update.</param>
/// <param name="Fvu">Fraction of variance unexplained of the batch.</param>
/// <param name="L0">Mean active latents per row.</param>
/// <param name="DeadFraction">Fraction of latents dead after this step.</param>
/// <param name="LearningRate">Rate used by this step.</param>
/// <param name="AuxLoss">L_aux of the auxiliary term (before its coefficient); 0 when inactive.</param>
/// <param name="PrefixFvu">Matryoshka: FVU of each prefix reconstruction (the last is <paramref name="Fvu"/>); null otherwise.</param>
public readonly record struct StepResult(int Step, double Loss, double Fvu, double L0, double DeadFraction, double LearningRate,
    double AuxLoss = 0, IReadOnlyList<double>? PrefixFvu = null);

/// <summary>
/// Trains a <see cref="Sae"/> of any <see cref="Architecture"/> with Adam on any backend. One <see cref="Step(ReadOnlySpan{float})"/> runs the
/// named stages below, all on the SAE's backend; after the dense encode GEMM every stage is sparse (O(B·k·d)), one pass
/// over [B, F] (selection) or one pass over the weights. Per-token TopK rules (TopK, AbsTopK, top-AFA, vSAE) fuse the
/// selection into the encode (<see cref="Backend.EncodeTopK"/>), so their steps hold no [B, F] matrix. Architecture
/// specifics are small stages of their own: the L1 shift of ReLU, JumpReLU's threshold gradient, the auxiliary loss, GBA's
/// bias adaptation and the inference thresholds of the batch-level selections. A Matryoshka SAE swaps the error stage for the fused prefix loss (<see cref="MatryoshkaLoss"/>).
/// The trainer owns its scratch tensors: dispose it (the SAE stays the caller's).
/// </summary>
public sealed class Trainer : IDisposable, IResumable
{
    private readonly Sae sae;
    private readonly Backend be;
    private readonly TrainConfig config;
    private readonly Architecture arch;
    private readonly int b, d, f;
    private readonly Sparsifier sparsifier;
    private readonly SparseCodes codes;
    private readonly Tensor<float> x, xhat, gOut, sse, gValues, gWDec, gWEnc, gBEnc, gBDec, gTheta, unusedSum, zeroD, columnMax;
    private readonly Tensor<int> counts;
    private readonly AdamOptimizer adam;
    private readonly AuxiliaryLoss? aux;
    private readonly SparsityController? sparsity;
    private readonly GroupBiasAdaptation? gba;
    private readonly MatryoshkaLoss? matryoshka;
    private readonly Tensor<float>? pre, downstream, mu, noise;
    private readonly float[]? noiseHost;
    private readonly ResumableRandom posteriorRng;
    private readonly FiringFrequency frequency;
    private readonly float[] sseHost, thresholdsHost, batchThresholdsHost, columnMaxHost, bEncHost;
    private readonly int[] countsHost, auxMaskHost;
    private double mainSse, auxLoss;
    private int step;

    /// <summary>Prepares training of <paramref name="sae"/> with <paramref name="config"/> (validated).</summary>
    public Trainer(Sae sae, TrainConfig config)
    {
        ArgumentNullException.ThrowIfNull(sae);
        ArgumentNullException.ThrowIfNull(config);
        this.sae = sae;
        this.config = config.Validate(sae.Config);
        be = sae.Backend;
        arch = sae.Config.Architecture;
        (b, d, f) = (config.BatchSize, sae.Config.InputDim, sae.Config.Latents);
        sparsifier = new Sparsifier(sae, b);
        codes = new SparseCodes(be, b, sparsifier.TrainingCapacity);
        long bd = (long)b * d, fd = (long)f * d;
        (x, xhat, gOut) = (be.Allocate<float>(bd), be.Allocate<float>(bd), be.Allocate<float>(bd));
        if (!sparsifier.FusesTraining) pre = be.Allocate<float>((long)b * f);
        (sse, gValues) = (be.Allocate<float>(b), be.Allocate<float>(codes.Capacity));
        (gWDec, gWEnc) = (be.Allocate<float>(fd), be.Allocate<float>(fd));
        (gBEnc, unusedSum, gTheta, columnMax) = (be.Allocate<float>(f), be.Allocate<float>(f), be.Allocate<float>(f), be.Allocate<float>(f));
        (gBDec, zeroD) = (be.Allocate<float>(d), be.Allocate<float>(d));
        counts = be.Allocate<int>(f);
        List<Tensor<float>> parameters = [sae.WEnc, sae.BEnc, sae.WDec, sae.BDec];
        if (arch == Architecture.JumpRelu)
        {
            parameters.Add(sae.Thresholds);
            be.Upload<float>(Enumerable.Repeat((float)config.JumpReluInitialThreshold, f).ToArray(), sae.Thresholds);
        }
        adam = new AdamOptimizer(be, parameters, config.Beta1, config.Beta2, config.Epsilon);
        if (config.AuxLoss != AuxLossKind.None && config.AuxCoefficient > 0)
            aux = new AuxiliaryLoss(sae, b, config.AuxK ?? Math.Max(1, d / 2));
        if (arch is Architecture.Relu or Architecture.JumpRelu)
            sparsity = new SparsityController(arch == Architecture.Relu ? config.L1Coefficient : config.L0Coefficient,
                sae.Config.K, config.SparsityControlRate);
        if (arch == Architecture.Gba) gba = new GroupBiasAdaptation(f, sae.Config.K, config);
        if (sae.Config.IsMatryoshka) matryoshka = new MatryoshkaLoss(sae, codes, config);
        if (arch == Architecture.GSae) downstream = be.Allocate<float>(bd);
        if (arch == Architecture.VSae)
            (mu, noise, noiseHost) = (be.Allocate<float>(codes.Capacity), be.Allocate<float>(codes.Capacity), new float[codes.Capacity]);
        posteriorRng = new ResumableRandom(unchecked(config.Seed * 131 + 3));
        frequency = new FiringFrequency(f);
        (sseHost, countsHost, auxMaskHost) = (new float[b], new int[f], new int[f]);
        (thresholdsHost, batchThresholdsHost, columnMaxHost, bEncHost) = (new float[f], new float[f], new float[f], new float[f]);
        Dead = new DeadLatentTracker(f, config.DeadAfterTokens);
    }

    /// <summary>Dead-latent bookkeeping (tokens since each latent fired).</summary>
    public DeadLatentTracker Dead { get; }

    /// <summary>EMA firing frequency of each latent (per token), updated every step.</summary>
    public FiringFrequency Frequency => frequency;

    /// <summary>Steps taken so far.</summary>
    public int StepsTaken => step;

    /// <summary>Current coefficient of ReLU's L1 or JumpReLU's L0 term (null for other architectures).</summary>
    public double? SparsityCoefficient => sparsity?.Value;

    /// <summary>Gradient of the loss w.r.t. W_enc [F, d] after <see cref="ComputeGradients(ReadOnlySpan{float})"/> (unused for GBA, whose encoder is tied).</summary>
    public Tensor<float> GradWEnc => gWEnc;

    /// <summary>Gradient w.r.t. b_enc [F] (zero for GBA, whose biases are adapted instead).</summary>
    public Tensor<float> GradBEnc => gBEnc;

    /// <summary>Gradient w.r.t. W_dec [F, d] (before the parallel component is removed; for GBA, of the tied direction).</summary>
    public Tensor<float> GradWDec => gWDec;

    /// <summary>Gradient w.r.t. b_dec [d] (through both the output and the encoder's centering).</summary>
    public Tensor<float> GradBDec => gBDec;

    /// <summary>Straight-through gradient w.r.t. JumpReLU's thresholds [F] (unused otherwise).</summary>
    public Tensor<float> GradThresholds => gTheta;

    /// <summary>The Matryoshka term (prefix sizes, weights, per-prefix errors of the last step); null for a plain SAE.</summary>
    public MatryoshkaLoss? Matryoshka => matryoshka;

    /// <summary>The sparse codes of the last batch.</summary>
    public SparseCodes Codes => codes;

    /// <summary>One optimizer step on host rows <paramref name="batch"/> [B, d].</summary>
    public StepResult Step(ReadOnlySpan<float> batch) => Step(batch, default);

    /// <summary>
    /// One optimizer step on host rows <paramref name="batch"/> [B, d] with the downstream loss gradients [B, d] w.r.t. those
    /// rows (required by g-SAE, ignored otherwise).
    /// </summary>
    public StepResult Step(ReadOnlySpan<float> batch, ReadOnlySpan<float> gradients)
    {
        double lr = config.LearningRateAt(step, f);
        ComputeGradients(batch, gradients);
        ProjectDecoderGradient();
        adam.Step(arch == Architecture.JumpRelu ? [gWEnc, gBEnc, gWDec, gBDec, gTheta] : [gWEnc, gBEnc, gWDec, gBDec], lr);
        NormalizeDecoder();
        TieEncoder();
        step++;
        return Measure(batch, lr);
    }

    /// <summary>
    /// Forward and backward pass on <paramref name="batch"/> [B, d] without updating the weights. Loss
    /// L = Σ‖x̂ − x‖² / (B·d) (+ λ/B·Σ a_j‖d_j‖ for ReLU, + λ/B·Σ H(pre − θ) for JumpReLU,
    /// + λ_AFA·mean_b(‖a_b‖ − ‖x_b − b_dec‖)² for top-AFA, + α·L_aux) with
    /// x̂ = codes·W_dec + b_dec (Matryoshka: Σ_i w_i‖x̂_i − x‖² / (B·d) over the prefix reconstructions); fills the Grad* tensors. Sets b_dec to the batch mean first when no step has been taken yet.
    /// </summary>
    public void ComputeGradients(ReadOnlySpan<float> batch) => ComputeGradients(batch, default);

    /// <summary>As <see cref="ComputeGradients(ReadOnlySpan{float})"/>, with downstream gradients [B, d] for g-SAE's selection.</summary>
    public void ComputeGradients(ReadOnlySpan<float> batch, ReadOnlySpan<float> gradients)
    {
        if (batch.Length != (long)b * d)
            throw new ArgumentException($"Batch has {batch.Length} values; expected B·d = {b}·{d} = {(long)b * d}.", nameof(batch));
        if (downstream is not null)
        {
            if (gradients.Length != (long)b * d)
                throw new ArgumentException($"g-SAE needs downstream gradients of B·d = {(long)b * d} values with each batch; got {gradients.Length}.", nameof(gradients));
            be.Upload(gradients, downstream);
        }
        be.Upload(batch, x);
        if (step == 0) InitializeDecoderBias(batch);
        EncodeAndSelect();
        ComputeError();
        Backward();
    }

    private void InitializeDecoderBias(ReadOnlySpan<float> batch) => be.Upload<float>(Metrics.ColumnMean(batch, d), sae.BDec);

    // Per-token TopK rules select while encoding (no pre [B, F]); the others need the whole pre.
    private void EncodeAndSelect()
    {
        if (pre is null) sparsifier.EncodeAndSelect(x, codes);
        else
        {
            be.Encode(x, sae.BDec, sae.WEnc, sae.BEnc, pre);
            sparsifier.SelectForTraining(pre, x, codes, downstream, (float)config.GradientBeta);
        }
        SamplePosterior();
    }

    // vSAE: keep μ, then ã = μ + σ·ξ on the kept entries (reparameterization: ∂ã/∂μ = 1); ξ seeded on the host.
    private void SamplePosterior()
    {
        if (mu is null) return;
        be.Copy(codes.Values, mu);
        for (int i = 0; i < noiseHost!.Length; i++) noiseHost[i] = (float)Sae.Gaussian(posteriorRng);
        be.Upload<float>(noiseHost, noise!);
        be.Axpy((float)config.PosteriorSigma, noise!, codes.Values);
    }

    // Plain SAEs: x̂, the error, its gradient and the value gradients in one fused op. Matryoshka: the fused prefix loss
    // (which writes the value gradients too), and the full x̂ only for the auxiliary loss's residual.
    private void ComputeError()
    {
        if (matryoshka is not null)
        {
            if (aux is not null) be.SparseDecode(codes, sae.WDec, sae.BDec, xhat);
            matryoshka.Forward(sae, codes, x, gOut, gValues);
            mainSse = matryoshka.PrefixSse[^1];
            return;
        }
        float l1Shift = arch == Architecture.Relu ? (float)(sparsity!.Value / b) : 0f;
        be.SparseDecodeGrad(codes, sae.WDec, sae.BDec, x, 2f / (b * (float)d), l1Shift, xhat, gOut, sse, gValues);
        be.Download(sse, sseHost);
        mainSse = 0;
        foreach (float s in sseHost) mainSse += s;
    }

    private void Backward()
    {
        ValueAndDecoderGrads();
        be.AggregateByLatent(codes, gValues, x, sae.BDec, false, gWEnc, gBEnc, counts);
        AuxiliaryTerm();
        if (arch == Architecture.JumpRelu)
            be.JumpReluThresholdGrad(pre!, sae.Thresholds, gOut, sae.WDec, (float)config.JumpReluBandwidth, (float)(sparsity!.Value / b), gTheta);
        be.DecoderBiasGrad(gOut, gBEnc, sae.WEnc, gBDec);
        if (arch == Architecture.Gba) be.Clear(gBEnc);
    }

    // The error stage has already written gValues; Matryoshka's decoder gradient aggregates per latent group.
    private void ValueAndDecoderGrads()
    {
        if (matryoshka is not null)
        {
            matryoshka.DecoderGrad(codes.Values, gWDec, unusedSum, counts);
            return;
        }
        if (mu is not null) be.Axpy((float)(2 * config.KlWeight / ((double)b * d)), mu, gValues);
        if (arch == Architecture.TopAfa && config.AfaCoefficient > 0)
            be.AfaLossGrad(codes, sparsifier.TargetNorms, (float)config.AfaCoefficient, gValues);
        be.AggregateByLatent(codes, codes.Values, gOut, zeroD, false, gWDec, unusedSum, counts);
    }

    private void AuxiliaryTerm()
    {
        if (aux is null) return;
        if (config.AuxLoss == AuxLossKind.AuxZipf) frequency.FillUnderusedMask(Dead, auxMaskHost);
        else Dead.FillDeadMask(auxMaskHost);
        auxLoss = aux.Apply(auxMaskHost, config.AuxCoefficient, sae, x, xhat, mainSse, gWEnc, gBEnc, gWDec);
    }

    private void ProjectDecoderGradient() => be.RemoveParallelGrad(sae.WDec, d, parallelOnly: false, gWDec);

    private void NormalizeDecoder() => be.NormalizeRows(d, sae.WDec);

    /// <summary>
    /// GBA's SAE ties directions (arXiv 2506.14002: x̂ = Σ_m c_m w_m φ(w_m·(x − b_pre) + b_m) + b_pre). With SaeGpu's
    /// unit-norm decoder rows w_m, ReLU's positive homogeneity moves the scale c_m into the encoder:
    /// c_m·φ(w_m·x̃ + b_m) = φ(c_m w_m·x̃ + c_m b_m). So after each step every encoder row is projected onto its decoder
    /// direction, keeping a free per-latent scale (ours: the projected-gradient form of the tie).
    /// </summary>
    private void TieEncoder()
    {
        if (arch == Architecture.Gba) be.RemoveParallelGrad(sae.WDec, d, parallelOnly: true, sae.WEnc);
    }

    private StepResult Measure(ReadOnlySpan<float> batch, double lr)
    {
        be.Download(counts, countsHost);
        Dead.Update(countsHost, b);
        frequency.Update(countsHost, b);
        long nnz = 0;
        foreach (int c in countsHost) nnz += c;
        double l0 = (double)nnz / b;
        sparsity?.Observe(l0);
        EstimateInferenceThresholds();
        AdaptGroupBiases();
        double variance = Metrics.TotalVariance(batch, d);
        return new StepResult(step, mainSse / ((double)b * d), mainSse / variance, l0, Dead.DeadFraction, lr, auxLoss,
            matryoshka?.PrefixSse.Select(s => s / variance).ToArray());
    }

    /// <summary>
    /// BatchTopK / Mutual Choice: θ ← EMA of τ (the batch's k·B-th value, i.e. the smallest kept activation) — one value for
    /// all latents. Feature Choice: θ_j ← EMA of latent j's m-th value over batches where it filled its budget. The first
    /// step sets θ directly; decay <see cref="TrainConfig.ThresholdEma"/> (ours; the dictionary_learning code uses 0.999 from
    /// step 1000).
    /// </summary>
    private void EstimateInferenceThresholds()
    {
        if (arch is not (Architecture.BatchTopK or Architecture.MutualChoice or Architecture.FeatureChoice)) return;
        be.Download(sparsifier.BatchThresholds, batchThresholdsHost);
        float decay = step == 1 ? 0f : (float)config.ThresholdEma;
        for (int j = 0; j < f; j++)
            if (batchThresholdsHost[j] > 0) thresholdsHost[j] = decay * thresholdsHost[j] + (1 - decay) * batchThresholdsHost[j];
        be.Upload<float>(thresholdsHost, sae.Thresholds);
    }

    private void AdaptGroupBiases()
    {
        if (gba is null) return;
        be.ColumnMax(pre!, columnMax);
        be.Download(columnMax, columnMaxHost);
        be.Download(sae.BEnc, bEncHost);
        if (gba.Observe(countsHost, columnMaxHost, b, bEncHost)) be.Upload<float>(bEncHost, sae.BEnc);
    }

    /// <summary>
    /// Writes everything later steps depend on: the shape (checked on restore), the step, the SAE's weights, Adam's moments,
    /// the dead-latent and firing statistics, the sparsity controller, GBA's window, and the random streams of Matryoshka
    /// prefixes and vSAE noise. Scratch tensors are rebuilt by every step and are not saved.
    /// </summary>
    public void WriteState(BinaryWriter writer)
    {
        writer.WriteShape(Shape());
        writer.Write(step);
        foreach (var t in Weights()) writer.WriteTensor(be, t);
        foreach (var part in StateParts()) part.WriteState(writer);
    }

    /// <summary>
    /// Restores the state written by <see cref="WriteState"/> into this trainer (built for the same SAE shape and
    /// <see cref="TrainConfig"/>) and its SAE; throws <see cref="InvalidDataException"/> naming the first mismatch.
    /// </summary>
    public void ReadState(BinaryReader reader)
    {
        reader.ExpectShape(Shape());
        step = reader.ReadInt32();
        if (step < 0) throw new InvalidDataException($"Step {step} is negative.");
        string[] names = ["W_enc", "b_enc", "W_dec", "b_dec", "thresholds"];
        foreach (var (t, name) in Weights().Zip(names)) reader.ReadTensor(be, t, name);
        foreach (var part in StateParts()) part.ReadState(reader);
        be.Download(sae.Thresholds, thresholdsHost);
    }

    private (string Name, long Value)[] Shape() =>
        [("Batch size", b), ("Input width d", d), ("Latents F", f), ("k", sae.Config.K), ("Architecture", (int)arch),
         ("Number of Matryoshka widths", sae.Config.MatryoshkaWidths?.Count ?? 0)];

    private Tensor<float>[] Weights() => [sae.WEnc, sae.BEnc, sae.WDec, sae.BDec, sae.Thresholds];

    private IEnumerable<IResumable> StateParts() =>
        new IResumable?[] { adam, Dead, frequency, sparsity, gba, matryoshka, posteriorRng }.OfType<IResumable>();

    /// <summary>Frees the trainer's scratch tensors and optimizer state.</summary>
    public void Dispose()
    {
        sparsifier.Dispose();
        codes.Dispose();
        pre?.Dispose();
        foreach (var t in new[] { x, xhat, gOut, sse, gValues, gWDec, gWEnc, gBEnc, gBDec, gTheta, unusedSum, zeroD, columnMax }) t.Dispose();
        counts.Dispose();
        adam.Dispose();
        aux?.Dispose();
        matryoshka?.Dispose();
        downstream?.Dispose();
        mu?.Dispose();
        noise?.Dispose();
    }
}
