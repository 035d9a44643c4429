// The README's C# examples. Each region below is a ```csharp block of README.md, word for word (ReadmeExamplesTests in
// Sae.Gpu.Tests checks that, and runs each example); this file is also compiled into the package consumer against the
// NuGet package alone (scripts/package-test.sh), so the examples use nothing but the public API.
namespace SaeGpu.Examples;

/// <summary>The README's C# examples, runnable.</summary>
public static class ReadmeExamples
{
    #region readme:encode
    // Encode activations [tokens, d] (row-major) with an SAE saved by SAELens (a folder with cfg.json and
    // sae_weights.safetensors), by sparsify, or by SaeGpu (.saeckpt); return the reconstruction's FVU.
    public static double EncodeAndDecode(string saePath, float[] activations)
    {
        using var sae = SparseAutoencoder.Load(saePath);   // on Backend.Default (SIMD CPU); Backend.Create("gpu") for CUDA
        SparseBatch codes = sae.Encode(activations);       // CSR: row t holds token t's active latents and their values
        for (int t = 0; t < Math.Min(codes.Rows, 3); t++)
            Console.WriteLine($"token {t}: latents {string.Join(", ", codes.RowIndices(t).ToArray())}");

        var reconstruction = new float[activations.Length];
        sae.Decode(codes, reconstruction);
        return SaeMetrics.ComputeFvu(activations, reconstruction, sae.Config.InputDim);
    }

    // Streaming: one SparseBatch reused for every batch, so encoding allocates nothing once it is large enough.
    public static int[] CountFirings(string saePath, IEnumerable<float[]> batches)
    {
        using var sae = SparseAutoencoder.Load(saePath);
        var counts = new int[sae.Config.Latents];
        var codes = new SparseBatch();
        foreach (float[] batch in batches)
        {
            sae.Encode(batch, codes);
            foreach (int latent in codes.Indices) counts[latent]++;
        }
        return counts;
    }
    #endregion

    #region readme:train
    // Train a TopK SAE on a .npy of activations [rows, d] (float32 or float16; a .safetensors file or a folder of shards
    // works too), saving to outputFolder in SAELens format with a checkpoint every 500 steps. Cancelled, it leaves a
    // checkpoint; called again, it resumes from it (on the CPU, bit for bit as if never stopped).
    public static TrainingResult TrainOnNpy(string npyPath, string outputFolder, int steps, CancellationToken cancel)
    {
        using var data = new FileActivations(npyPath, new FileActivationOptions(Normalize: true));
        using TrainingRun run = File.Exists(TrainingRun.StatePath(outputFolder))
            ? TrainingRun.Resume(outputFolder, data)
            : TrainingRun.Start(
                new SaeConfig(InputDim: data.InputDim, Latents: 16 * data.InputDim, K: 16, Architecture: "topk"),
                new TrainConfig(BatchSize: 1024, Steps: steps),
                data,
                new TrainingRunOptions(outputFolder, CheckpointEvery: 500, InputScale: data.Scale));

        // Run reports each step to an IProgress<StepResult> on its own thread; Progress<T> hands it to the thread pool.
        var progress = new Progress<StepResult>(s =>
        {
            if (s.Step % 100 == 0) Console.WriteLine($"step {s.Step}: FVU {s.Fvu:F3}, L0 {s.L0:F1}, dead {s.DeadFraction:P1}");
        });
        return run.Run(progress, cancel);   // .Completed is false when cancelled
    }
    #endregion

    #region readme:step
    // Your own loop: one Trainer.Step per batch [BatchSize, d] from wherever activations come from (a model's forward
    // hook, a queue, ...). Step runs the forward and backward passes and Adam on the SAE's backend; ComputeGradients
    // alone returns the objective and leaves the gradients in trainer.Gradient(name) for an optimizer of your own.
    public static SparseAutoencoder TrainInYourLoop(IEnumerable<float[]> batches, int d)
    {
        var sae = SparseAutoencoder.Create(new SaeConfig(InputDim: d, Latents: 8 * d, K: 8, Architecture: "jumprelu"));
        var config = new TrainConfig(BatchSize: 512, Steps: 2_000,
            ArchitectureOptions: new Dictionary<string, double> { ["l0"] = 1e-3 });   // JumpReLU's initial L0 coefficient
        using var trainer = new Trainer(sae, config);
        foreach (float[] batch in batches.Take(config.Steps))
        {
            StepResult r = trainer.Step(batch);   // the first step also sets b_dec to the batch mean
            if (r.Step % 500 == 0) Console.WriteLine($"step {r.Step}: loss {r.Loss:F4}, FVU {r.Fvu:F3}, L0 {r.L0:F1}");
        }
        return sae;
    }
    #endregion
}
