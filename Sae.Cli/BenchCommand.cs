using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Training;

namespace SaeGpu.Cli;

/// <summary>
/// <c>sae bench</c>: times training steps, the encode GEMM, TopK and the fused EncodeTopK on one backend at a given shape,
/// and optionally first checks that backend against another: same weights and batch, selected codes and all four
/// gradients compared.
/// </summary>
public static class BenchCommand
{
    /// <summary>The <c>bench</c> command, writing to <paramref name="output"/>; its exit code is 3 when --verify finds a mismatch.</summary>
    public static Command Create(TextWriter output)
    {
        var command = new Command("bench", "Time train steps, encode, TopK and the fused EncodeTopK on a backend; reports the peak RSS after the train steps.");
        var backend = CliOptions.Backend("backend to time (default: $SAEGPU_BACKEND, else cpu)");
        var d = CliOptions.Value("--d", 768, "D", "input width");
        command.Add(backend);
        command.Add(d);
        var model = new ModelOptions(command, "topk", 16384, 32);
        var batch = CliOptions.Batch(4096);
        var steps = CliOptions.Value("--steps", 10, "N", "timed steps (2 warm-up steps are not timed)");
        var verify = CliOptions.Text("--verify", "NAME", "first compare one forward/backward on NAME and --backend (codes, gradient errors)");
        var json = CliOptions.Json("one JSON object with the results");
        foreach (Option o in new Option[] { batch, steps, verify, json }) command.Add(o);
        command.SetAction(r => Run(output, model.Read(r, r.GetValue(d)), r.GetValue(batch), r.GetValue(steps), r.GetValue(backend), r.GetValue(verify), r.GetValue(json)));
        return command;
    }

    private static int Run(TextWriter output, SaeConfig model, int batch, int steps, string? backendName, string? verify, bool json)
    {
        CliOptions.Validate(() =>
        {
            model.Validate();
            new TrainConfig(BatchSize: batch, Steps: steps).Validate();
        });
        using var backend = CliOptions.CreateBackend(backendName);
        var source = new SyntheticActivations(new SyntheticOptions(InputDim: model.InputDim, Features: Math.Max(model.Latents / 4, 1),
            MeanActive: Math.Min(model.K, Math.Max(model.Latents / 4, 1))));
        var x = new float[(long)batch * model.InputDim];
        source.NextBatch(x);
        var results = new Dictionary<string, object> { ["backend"] = backend.Name, ["arch"] = model.Architecture, ["d"] = model.InputDim, ["latents"] = model.Latents, ["k"] = model.K, ["batch"] = batch };
        if (backend.Name is "gpu" or "ilgpu-cpu") results["device"] = backend.DeviceName;
        int exit = 0;
        if (verify is not null && !Verify(backend, verify, model, x, batch, output, results)) exit = 3;
        TimeSteps(backend, model, x, batch, steps, output, results);
        TimeEncode(backend, model, x, batch, steps, output, results);
        if (json) output.WriteLine(JsonSerializer.Serialize(results));
        return exit;
    }

    private static bool Verify(Backend backend, string otherName, SaeConfig model, float[] x, int batch, TextWriter output,
        Dictionary<string, object> results)
    {
        using var other = CliOptions.CreateBackend(otherName);
        var (codesA, gradsA) = Gradients(backend, model, x, batch);
        var (codesB, gradsB) = Gradients(other, model, x, batch);
        double agreement = codesA.Intersect(codesB).Count() / (double)Math.Max(1, Math.Max(codesA.Count, codesB.Count));
        results["verify_code_agreement"] = agreement;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verify {backend.Name} vs {other.Name}: selected (row, latent) pairs agree {100 * agreement:F3}%"));
        bool ok = agreement >= 0.999;
        string[] names = ["W_enc", "b_enc", "W_dec", "b_dec"];
        for (int t = 0; t < 4; t++)
        {
            double diff = 0, norm = 0;
            for (int e = 0; e < gradsA[t].Length; e++)
            {
                double dv = (double)gradsA[t][e] - gradsB[t][e];
                diff += dv * dv;
                norm += (double)gradsB[t][e] * gradsB[t][e];
            }
            double rel = Math.Sqrt(diff / Math.Max(norm, 1e-30));
            ok &= rel <= 1e-3;
            results[$"verify_rel_err_grad_{names[t]}"] = double.IsFinite(rel) ? rel : -1;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"verify {backend.Name} vs {other.Name}: ‖Δ grad {names[t]}‖/‖grad‖ = {rel:E2}"));
        }
        results["verify_ok"] = ok;
        output.WriteLine(ok ? "verify: OK" : "verify: MISMATCH");
        return ok;
    }

    private static (HashSet<(int, int)> Codes, float[][] Grads) Gradients(Backend be, SaeConfig model, float[] x, int batch)
    {
        using var sae = SparseAutoencoder.Create(model, be, seed: 1);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: batch, Steps: 1));
        trainer.ComputeGradients(x, x); // the batch doubles as g-SAE's downstream gradient (ignored by the others)
        var host = new SparseBatch();
        trainer.Codes.Download(host);
        var codes = new HashSet<(int, int)>();
        for (int r = 0; r < batch; r++) foreach (int j in host.RowIndices(r)) codes.Add((r, j));
        return (codes, [.. new[] { "W_enc", "b_enc", "W_dec", "b_dec" }.Select(name => be.ToHost(trainer.Gradient(name)))]);
    }

    private static void TimeSteps(Backend be, SaeConfig model, float[] x, int batch, int steps, TextWriter output, Dictionary<string, object> results)
    {
        using var sae = SparseAutoencoder.Create(model, be, seed: 2);
        using var trainer = new Trainer(sae, new TrainConfig(BatchSize: batch, Steps: steps + 2));
        trainer.Step(x, x);
        trainer.Step(x, x);
        var clock = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++) trainer.Step(x, x);
        double ms = clock.Elapsed.TotalMilliseconds / steps;
        double peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / 1e6;
        results["step_ms"] = ms;
        results["tokens_per_second"] = batch / (ms / 1000);
        results["peak_rss_mb_after_steps"] = peakMb;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"train step: {ms:F2} ms  ({batch / (ms / 1000):F0} tokens/s)   peak RSS so far: {peakMb:F0} MB"));
    }

    private static void TimeEncode(Backend be, SaeConfig model, float[] x, int batch, int steps, TextWriter output, Dictionary<string, object> results)
    {
        using var sae = SparseAutoencoder.Create(model, be, seed: 3);
        using var wEnc = be.FromHost<float>(sae.GetParameter("W_enc"));
        using var bEnc = be.FromHost<float>(sae.GetParameter("b_enc"));
        using var bDec = be.FromHost<float>(sae.GetParameter("b_dec"));
        using var xt = be.FromHost<float>(x);
        using var pre = be.Allocate<float>((long)batch * model.Latents);
        using var codes = new SparseCodes(be, batch, (long)batch * model.K);
        be.Encode(xt, bDec, wEnc, bEnc, pre);
        be.TopK(pre, model.K, absolute: false, null, codes);
        be.Synchronize();
        var clock = Stopwatch.StartNew();
        for (int s = 0; s < steps; s++) be.Encode(xt, bDec, wEnc, bEnc, pre);
        be.Synchronize();
        double encodeMs = clock.Elapsed.TotalMilliseconds / steps;
        clock.Restart();
        for (int s = 0; s < steps; s++) be.TopK(pre, model.K, absolute: false, null, codes);
        be.Synchronize();
        double topkMs = clock.Elapsed.TotalMilliseconds / steps;
        clock.Restart();
        for (int s = 0; s < steps; s++) be.EncodeTopK(xt, bDec, wEnc, bEnc, null, model.K, absolute: false, null, codes);
        be.Synchronize();
        double fusedMs = clock.Elapsed.TotalMilliseconds / steps;
        double gflops = 2.0 * batch * model.InputDim * model.Latents / (encodeMs / 1000) / 1e9;
        results["encode_ms"] = encodeMs;
        results["encode_gflops"] = gflops;
        results["topk_ms"] = topkMs;
        results["encode_topk_ms"] = fusedMs;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"encode: {encodeMs:F2} ms  ({gflops:F1} GFLOP/s)   topk: {topkMs:F2} ms   fused encode+topk: {fusedMs:F2} ms"));
    }
}
