using SaeGpu.Compute;
using SaeGpu.Training;

namespace SaeGpu.Architectures;

/// <summary>
/// Group bias adaptation (GBA, arXiv 2506.14002, as summarised in PAPERS §6): ReLU codes; b_enc receives no gradient but is
/// adapted toward target firing frequencies (<see cref="GroupBiasAdaptation"/>); the encoder is tied to the decoder
/// directions. GBA's SAE is x̂ = Σ_m c_m w_m φ(w_m·(x − b_pre) + b_m) + b_pre; with SaeGpu's unit-norm decoder rows w_m,
/// ReLU's positive homogeneity moves the scale c_m into the encoder, c_m·φ(w_m·x̃ + b_m) = φ(c_m w_m·x̃ + c_m b_m), so after
/// each step every encoder row is projected onto its decoder direction, keeping a free per-latent scale (ours: the
/// projected-gradient form of the tie). After the first step the biases are set so that each latent fires at its target
/// frequency on that batch, b_m ← b_m − t_m with t_m the ⌈p_m·B⌉-th largest pre of latent m (ours, option
/// <c>gba-init</c>): the paper's updates move b by γ·r_m once every T = 50 steps, too slowly to bring a fresh SAE (half its
/// latents active per token) to the targets in a run of a few thousand steps. SAELens "standard".
/// </summary>
internal sealed class GbaArchitecture : Architecture
{
    /// <inheritdoc />
    public override string Name => "gba";

    /// <inheritdoc />
    public override int Order => 90;

    /// <inheritdoc />
    public override int TrainingBatchMatrices => 7;

    /// <inheritdoc />
    public override IReadOnlyList<ArchitectureOption> Options { get; } =
    [
        ArchitectureOption.Integer("gba-groups", 10, 1, "number of latent groups K (latent j is in group j mod K)"),
        ArchitectureOption.Integer("gba-interval", 50, 1, "optimizer steps between bias updates, the buffer spanning them (50, the paper's summaries; short runs want fewer)"),
        ArchitectureOption.Closed("gba-high-frequency", 0, 0, 1, "target frequency of the first group; 0 = chosen so the targets' mean L0 is k (ours)"),
        ArchitectureOption.AtLeast("gba-frequency-ratio", 100, 1, "ratio of the first to the last group's target frequency (geometric in between)"),
        ArchitectureOption.Positive("gba-gamma", 0.01, "step γ of the bias updates"),
        ArchitectureOption.NonNegative("gba-epsilon", 1e-6, "a latent firing less often than this is revived"),
        ArchitectureOption.Integer("gba-init", 1, 0, "1 = after the first step, set each bias so its latent fires at its target frequency on that batch (ours); 0 = keep the initial biases"),
    ];

    /// <inheritdoc />
    public override SaeLensLayout SaeLens { get; } = new("standard");

    /// <inheritdoc />
    public override Selector CreateSelector(SparseAutoencoder sae, int rows) => new ThresholdSelector(sae, rows, null);

    /// <inheritdoc />
    public override ArchitectureTraining CreateTraining(Trainer trainer) => new Training(trainer, CreateSelector(trainer.Sae, trainer.BatchSize));

    private sealed class Training : ArchitectureTraining
    {
        private readonly GroupBiasAdaptation gba;
        private readonly Tensor<float> columnMax;
        private readonly float[] columnMaxHost, bEncHost;
        private readonly bool initialize;

        public Training(Trainer trainer, Selector selector) : base(trainer, selector)
        {
            int f = Sae.Config.Latents;
            gba = new GroupBiasAdaptation(f, Sae.Config.K, new GbaSettings(
                (int)trainer.Option("gba-groups"), (int)trainer.Option("gba-interval"), trainer.Option("gba-high-frequency"),
                trainer.Option("gba-frequency-ratio"), trainer.Option("gba-gamma"), trainer.Option("gba-epsilon")));
            columnMax = Backend.Allocate<float>(f);
            (columnMaxHost, bEncHost) = (new float[f], new float[f]);
            initialize = trainer.Option("gba-init") != 0;
        }

        // b_dec still receives the encoder path's share; b_enc itself is adapted, not trained.
        public override void DecoderBiasGradient()
        {
            base.DecoderBiasGradient();
            Backend.Clear(Trainer.GradBEnc);
        }

        public override void AfterUpdate() => Backend.RemoveParallelGrad(Sae.WDec, Sae.Config.InputDim, parallelOnly: true, Sae.WEnc);

        public override void Observe()
        {
            if (initialize && Trainer.StepsTaken == 1) StartAtTargets();
            Backend.ColumnMax(Trainer.Pre!, columnMax);
            Backend.Download(columnMax, columnMaxHost);
            Backend.Download(Sae.BEnc, bEncHost);
            if (gba.Observe(Trainer.CountsHost, columnMaxHost, Trainer.BatchSize, bEncHost)) Backend.Upload<float>(bEncHost, Sae.BEnc);
        }

        // b_m −= the ⌈p_m·B⌉-th largest pre of latent m in this batch (Backend.ColumnTopKThreshold), so it fires at p_m here.
        private void StartAtTargets()
        {
            int f = Sae.Config.Latents, b = Trainer.BatchSize;
            using var budgets = Backend.FromHost<int>([.. gba.Targets.Select(p => Math.Clamp((int)Math.Ceiling(p * b), 1, b))]);
            using var thresholds = Backend.Allocate<float>(f);
            using var cuts = Backend.Allocate<int>(f);
            Backend.ColumnTopKThreshold(Trainer.Pre!, budgets, thresholds, cuts);
            var t = Backend.ToHost(thresholds);
            Backend.Download(Sae.BEnc, bEncHost);
            for (int j = 0; j < f; j++) bEncHost[j] -= t[j];
            Backend.Upload<float>(bEncHost, Sae.BEnc);
        }

        public override void WriteState(BinaryWriter writer) => gba.WriteState(writer);

        public override void ReadState(BinaryReader reader) => gba.ReadState(reader);

        public override void Dispose()
        {
            columnMax.Dispose();
            base.Dispose();
        }
    }

    /// <summary>GBA's settings: the options of the same names (a high frequency of 0 = automatic).</summary>
    internal sealed record GbaSettings(int Groups, int Interval, double HighFrequency, double FrequencyRatio, double Gamma, double Epsilon);

    /// <summary>
    /// The bias adaptation: latents are split into K groups (latent j in group j mod K) with target firing frequencies p_k
    /// geometric from the first group's down to first/ratio. Every T steps, from the buffered batches: p̂_m = fraction of rows
    /// where latent m fired and r_m = max(0, max pre_m), r̄_k = mean of the positive r_m in group k; then
    /// <c>p̂_m &gt; p_k → b_m ← b_m − γ·r_m</c>, else <c>p̂_m &lt; ε → b_m ← min(b_m + γ·r̄_k, 0)</c>. The paper also floors
    /// biases at −1, which presumes unit-scale inputs; SaeGpu does not normalize inputs and its encoder is not tied in norm,
    /// so the floor is dropped (ours). Group assignment and the matched-L0 default for the first target are ours too.
    /// </summary>
    internal sealed class GroupBiasAdaptation : IResumable
    {
        private readonly double[] target;
        private readonly long[] fired;
        private readonly float[] maxPre;
        private readonly GbaSettings settings;
        private long rows;
        private int steps;

        /// <summary>State for <paramref name="latents"/> latents whose mean target L0 is <paramref name="targetL0"/> unless the settings fix the first target.</summary>
        public GroupBiasAdaptation(int latents, int targetL0, GbaSettings settings)
        {
            this.settings = settings;
            int groups = Math.Min(settings.Groups, latents);
            var shape = Enumerable.Range(0, groups).Select(g => Math.Pow(settings.FrequencyRatio, -(double)g / Math.Max(1, groups - 1))).ToArray();
            // Mean of the targets over latents is (Σ_g shape_g · size_g) / F; scale so F · mean = target L0.
            double perLatent = Enumerable.Range(0, latents).Sum(j => shape[j % groups]);
            double high = settings.HighFrequency > 0 ? settings.HighFrequency : Math.Min(1.0, targetL0 / perLatent);
            target = [.. Enumerable.Range(0, latents).Select(j => high * shape[j % groups])];
            fired = new long[latents];
            maxPre = new float[latents];
        }

        /// <summary>Each latent's target firing frequency p [F].</summary>
        public IReadOnlyList<double> Targets => target;

        /// <summary>
        /// Buffers one batch (fire counts [F], column maxima [F], rows) and, every T steps, updates <paramref name="bEnc"/> [F]
        /// in place; returns true when it did.
        /// </summary>
        public bool Observe(ReadOnlySpan<int> counts, ReadOnlySpan<float> columnMax, int batchRows, Span<float> bEnc)
        {
            for (int j = 0; j < fired.Length; j++)
            {
                fired[j] += counts[j];
                maxPre[j] = Math.Max(maxPre[j], columnMax[j]);
            }
            rows += batchRows;
            if (++steps % settings.Interval != 0) return false;
            Update(bEnc);
            Array.Clear(fired);
            Array.Clear(maxPre);
            rows = 0;
            return true;
        }

        /// <summary>Writes the statistics gathered since the last bias update.</summary>
        public void WriteState(BinaryWriter writer)
        {
            writer.WriteArray<long>(fired);
            writer.WriteArray<float>(maxPre);
            writer.Write(rows);
            writer.Write(steps);
        }

        /// <summary>Restores the statistics gathered since the last bias update.</summary>
        public void ReadState(BinaryReader reader)
        {
            reader.ReadArray<long>(fired, "GBA firing counts");
            reader.ReadArray<float>(maxPre, "GBA maximum pre-activations");
            (rows, steps) = (reader.ReadInt64(), reader.ReadInt32());
        }

        private void Update(Span<float> bEnc)
        {
            int groups = Math.Min(settings.Groups, fired.Length);
            var groupMean = new double[groups];
            var groupCount = new int[groups];
            for (int j = 0; j < fired.Length; j++)
                if (maxPre[j] > 0) { groupMean[j % groups] += maxPre[j]; groupCount[j % groups]++; }
            for (int g = 0; g < groups; g++) groupMean[g] = groupCount[g] > 0 ? groupMean[g] / groupCount[g] : 0;
            for (int j = 0; j < fired.Length; j++)
            {
                double freq = (double)fired[j] / rows;
                if (freq > target[j]) bEnc[j] = (float)(bEnc[j] - settings.Gamma * maxPre[j]);
                else if (freq < settings.Epsilon) bEnc[j] = (float)Math.Min(bEnc[j] + settings.Gamma * groupMean[j % groups], 0);
            }
        }
    }
}
