using SaeGpu.Data;
using SaeGpu.Evaluation;
using SaeGpu.Tests.Support;
using SaeGpu.Training;
using Xunit;

namespace SaeGpu.Tests.Model;

/// <summary>ITDA: dictionary construction, encoding, provenance, Jaccard similarity and the file format.</summary>
public class ItdaTests : TempDirectory
{
    private const int D = 16;

    private static AtomLabel[] Labels(int start, int count) => [.. Enumerable.Range(start, count).Select(t => new AtomLabel(t / 8, t % 8))];

    private static (ItdaBuilder Builder, SyntheticActivations Data) Built(ItdaOptions options, int batches = 20)
    {
        var data = new SyntheticActivations(new SyntheticOptions(InputDim: D, Features: 40, MeanActive: 2, Seed: 3));
        var builder = new ItdaBuilder(TestBackends.Cpu, D, options);
        var x = new float[256 * D];
        for (int b = 0; b < batches; b++)
        {
            data.NextBatch(x);
            builder.Update(x, Labels(b * 256, 256));
        }
        return (builder, data);
    }

    [Fact]
    public void Seeding_TakesTheMostFrequentDistinctRowsFirst_AndSkipsZeroRows()
    {
        var builder = new ItdaBuilder(TestBackends.Reference, 2, new ItdaOptions(K: 1, Threshold: 10));
        // Rows: the zero row four times (most frequent, but no atom), (1,0) once, (0,1) three times, (1,1) twice; d = 2 atoms.
        float[] x = [0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0];
        Assert.Equal(2, builder.Update(x, Labels(0, 10)));
        using var dict = builder.Build();
        Assert.Equal([new AtomLabel(0, 2), new AtomLabel(0, 3)], dict.Labels);
        Tolerance.AssertClose([0, 1, MathF.Sqrt(0.5f), MathF.Sqrt(0.5f)], dict.Backend.ToHost(dict.Atoms), 1e-6, 1e-6, "atoms");
    }

    [Fact]
    public void Seeding_DoesNotAddARecurringActivationTwice()
    {
        var builder = new ItdaBuilder(TestBackends.Reference, 3, new ItdaOptions(K: 1, Threshold: 10));
        Assert.Equal(1, builder.Update([1f, 2, 3], Labels(0, 1)));
        Assert.Equal(1, builder.Update([1f, 2, 3, 0, 1, 0], Labels(1, 2)));
        Assert.Equal(2, builder.Size);
    }

    [Fact]
    public void Build_AddsPoorlyReconstructedActivations_AndTheDictionaryReconstructsTheStream()
    {
        var (builder, data) = Built(new ItdaOptions(K: 4));
        Assert.InRange(builder.Size, D + 1, 20 * 256);
        using var dict = builder.Build();
        var x = new float[512 * D];
        data.NextBatch(x);
        using var codes = dict.EncodeCodes(x);
        double fvu = Metrics.Fvu(x, dict.Decode(codes), D);
        Assert.True(fvu < 0.3, $"held-out FVU {fvu:F3}");
        // Activations already in the dictionary are reconstructed exactly and never re-added.
        var atoms = dict.Backend.ToHost(dict.Atoms)[..(64 * D)];
        Assert.Equal(0, builder.Update(atoms, Labels(1_000_000, 64)));
    }

    [Fact]
    public void MaxAtoms_CapsTheDictionary()
    {
        var (builder, _) = Built(new ItdaOptions(K: 4, Threshold: 0, MaxAtoms: 50), batches: 3);
        Assert.Equal(50, builder.Size);
    }

    [Fact]
    public void Encode_OfAnAtom_IsThatAtomWithItsNorm()
    {
        var (builder, _) = Built(new ItdaOptions(K: 4), batches: 2);
        using var dict = builder.Build();
        var atom = dict.Backend.ToHost(dict.Atoms).AsSpan(5 * D, D).ToArray().Select(v => 3 * v).ToArray();
        using var codes = dict.EncodeCodes(atom);
        var (_, indices, values) = codes.ToHost();
        int at = Array.IndexOf(indices, 5);
        Assert.True(at >= 0, "the atom itself was not picked");
        Assert.Equal(3f, values[at], 4);
        // Later steps only chase float rounding of the residual.
        Assert.All(values.Where((_, p) => p != at), v => Assert.True(MathF.Abs(v) < 1e-5, $"coefficient {v}"));
        Tolerance.AssertClose(atom, dict.Decode(codes), 1e-5, 1e-4, "x̂");
    }

    [Fact]
    public void SaveThenLoad_RoundTripsAtomsLabelsAndK()
    {
        var (builder, _) = Built(new ItdaOptions(K: 3), batches: 2);
        using var dict = builder.Build();
        string path = Path.Combine(Dir, "d.itda");
        dict.Save(path);
        using var loaded = ItdaDictionary.Load(path, TestBackends.Reference);
        Assert.Equal(dict.Labels, loaded.Labels);
        Assert.Equal(3, loaded.K);
        Assert.Equal(dict.Backend.ToHost(dict.Atoms), loaded.Backend.ToHost(loaded.Atoms));
        Assert.Equal(1.0, ItdaDictionary.Jaccard(dict, loaded));
    }

    [Fact]
    public void Jaccard_IsSharedLabelsOverAllLabels()
    {
        var be = TestBackends.Reference;
        float[] Unit(int n) => [.. Enumerable.Range(0, n * D).Select(e => e % D == 0 ? 1f : 0f)];
        using var a = new ItdaDictionary(be, D, Unit(3), [new(0, 1), new(0, 2), new(1, 0)], 2);
        using var b = new ItdaDictionary(be, D, Unit(2), [new(0, 2), new(5, 5)], 2);
        Assert.Equal(1.0 / 4, ItdaDictionary.Jaccard(a, b), 12);
    }

    [Fact]
    public void Load_ThrowsForTruncatedFile_NamingIt()
    {
        var (builder, _) = Built(new ItdaOptions(K: 3), batches: 1);
        using var dict = builder.Build();
        string path = Path.Combine(Dir, "t.itda");
        dict.Save(path);
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..^3]);
        var e = Assert.Throws<SaeFormatException>(() => ItdaDictionary.Load(path, TestBackends.Cpu));
        Assert.Contains(path, e.Message);
        Assert.Contains("needs", e.Message);
    }

    [Fact]
    public void Update_ThrowsForLabelCountMismatch() =>
        Assert.Contains("labels", Assert.Throws<ArgumentException>(() => new ItdaBuilder(TestBackends.Cpu, 2, new ItdaOptions(K: 1)).Update(new float[6], Labels(0, 2))).Message);

    [Fact]
    public void Options_ThrowsForNegativeThreshold() =>
        Assert.Contains("Threshold", Assert.Throws<ArgumentException>(() => new ItdaOptions(Threshold: -1).Validate()).Message);

    [Fact]
    public void Options_ThrowsForZeroK() =>
        Assert.Contains("K", Assert.Throws<ArgumentException>(() => new ItdaOptions(K: 0).Validate()).Message);

    // k is capped at max(d, 64), so a dictionary file's encoding time stays in proportion to its size.
    [Fact]
    public void Builder_ThrowsForKPastTheCap() =>
        Assert.Contains("max(d, 64) = 100", Assert.Throws<ArgumentException>(() => new ItdaBuilder(TestBackends.Cpu, 100, new ItdaOptions(K: 101))).Message);

    [Fact]
    public void Dictionary_ThrowsForAtomLabelMismatch() =>
        Assert.Contains("one label each", Assert.Throws<ArgumentException>(() => new ItdaDictionary(TestBackends.Cpu, 2, new float[6], [new(0, 0)], 1)).Message);
}
