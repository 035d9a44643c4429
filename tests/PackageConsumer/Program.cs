// The package consumer check (scripts/package-test.sh): a program outside the repository that references only the
// SaeGpu NuGet package loads an SAE saved by `sae train`, encodes and decodes held-out activations from the same
// synthetic generator, and checks the reconstruction; then it round-trips the SAE through the SAELens format and
// calls one kernel op directly and the README's encoding example (ReadmeExamples.cs, compiled here against the
// package's public API only). Exits 0 when every check holds, 1 with the failed check otherwise.
using SaeGpu;

if (args.Length != 2 || !double.TryParse(args[1], System.Globalization.CultureInfo.InvariantCulture, out double maxFvu))
{
    Console.Error.WriteLine("usage: PackageConsumer <saved-sae> <max-fvu>");
    return 2;
}

const int Rows = 4096;
using var sae = SparseAutoencoder.Load(args[0]);
int d = sae.Config.InputDim;
var x = new float[Rows * d];
new SyntheticActivations(new SyntheticOptions(InputDim: d, StreamSeed: 7)).NextBatch(x);

SparseBatch codes = sae.Encode(x);
var xhat = new float[x.Length];
sae.Decode(codes, xhat);
double fvu = SaeMetrics.ComputeFvu(x, xhat, d);
SaeMetrics metrics = sae.Evaluate(x);
Console.WriteLine($"loaded {sae.Config.Architecture} d={d} F={sae.Config.Latents} k={sae.Config.K} on {sae.Backend.Name}: " +
    $"FVU {fvu:F4} (Evaluate {metrics.Fvu:F4}), L0 {metrics.L0:F2}");

var failures = new List<string>();
Check(codes.Rows == Rows, $"Encode returned {codes.Rows} rows, expected {Rows}");
Check(fvu < maxFvu, $"FVU {fvu:F4} is not below {maxFvu}");
Check(Math.Abs(fvu - metrics.Fvu) < 1e-4, $"Decode's FVU {fvu:F6} differs from Evaluate's {metrics.Fvu:F6}");
Check(metrics.L0 > 0 && metrics.L0 <= sae.Config.K, $"L0 {metrics.L0} is outside (0, {sae.Config.K}]");

// Save in the SAELens layout, load it back: the same codes.
string copy = Path.Combine(Path.GetTempPath(), $"saegpu-consumer-{Environment.ProcessId}");
try
{
    sae.Save(copy, SaeFormat.SaeLens);
    using var reloaded = SparseAutoencoder.Load(copy);
    SparseBatch again = reloaded.Encode(x);
    Check(again.Indices.SequenceEqual(codes.Indices) && again.Values.SequenceEqual(codes.Values),
        "the SAE saved in the SAELens format and loaded back encodes differently");
}
finally
{
    if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
}

// The README's encoding example, built against the package alone, gives the same reconstruction.
double exampleFvu = SaeGpu.Examples.ReadmeExamples.EncodeAndDecode(args[0], x);
Check(exampleFvu == fvu, $"the README example's FVU {exampleFvu} differs from {fvu}");

// One op without the SAE: the fused encode + top-k on host spans gives the SAE's codes.
var direct = new SparseBatch();
sae.Backend.EncodeTopK(x, sae.GetParameter("b_dec"), sae.GetParameter("W_enc"), sae.GetParameter("b_enc"), sae.Config.K,
    absolute: false, direct);
Check(direct.Indices.SequenceEqual(codes.Indices), "Backend.EncodeTopK selects other latents than SparseAutoencoder.Encode");

// A wrong-sized buffer is refused with the argument's name.
try
{
    sae.Decode(codes, new float[x.Length - 1]);
    Check(false, "Decode accepted a destination one element short");
}
catch (ArgumentException e)
{
    Check(e.ParamName == "destination", $"Decode's error names '{e.ParamName}', not 'destination'");
}

foreach (string failure in failures) Console.Error.WriteLine($"FAILED: {failure}");
Console.WriteLine(failures.Count == 0 ? "package consumer: all checks passed" : $"package consumer: {failures.Count} check(s) failed");
return failures.Count == 0 ? 0 : 1;

void Check(bool condition, string failure)
{
    if (!condition) failures.Add(failure);
}
