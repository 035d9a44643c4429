using SaeGpu.Data;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Data;

/// <summary>Activation files: shards, the shuffle buffer, wrap-around, normalization and its folding into the weights.</summary>
public class FileActivationsTests : TempDirectory
{
    private const int D = 4;

    // Shard s, row r holds (s, r, 1, 1): every row is identifiable.
    private string WriteShards(params int[] rows)
    {
        string dir = Path.Combine(Dir, "acts");
        for (int s = 0; s < rows.Length; s++)
        {
            using var w = new NpyWriter(Path.Combine(dir, $"shard{s}.npy"), D);
            for (int r = 0; r < rows[s]; r++) w.Append([s, r, 1f, 1f]);
            w.Complete();
        }
        return dir;
    }

    [Fact]
    public void Batches_MixShards_CoverEveryRow_AndWrapAround()
    {
        using var acts = new FileActivations(WriteShards(300, 200), new FileActivationOptions(ShuffleBuffer: 64, Seed: 1));
        Assert.Equal((500L, D), (acts.TotalRows, acts.InputDim));
        var batch = new float[50 * D];
        var seen = new HashSet<(float, float)>();
        var firstBatchShards = new HashSet<float>();
        for (int b = 0; b < 40; b++)
        {
            acts.NextBatch(batch);
            for (int r = 0; r < 50; r++)
            {
                seen.Add((batch[r * D], batch[r * D + 1]));
                if (b == 0) firstBatchShards.Add(batch[r * D]);
            }
        }
        Assert.Equal(2, firstBatchShards.Count);
        Assert.Equal(500, seen.Count);
        Assert.True(acts.Epoch >= 3, $"epoch {acts.Epoch} after 2,000 draws of 500 rows");
    }

    [Fact]
    public void SameSeed_SameStream()
    {
        string dir = WriteShards(100, 100);
        float[] Draw(int seed)
        {
            using var acts = new FileActivations(dir, new FileActivationOptions(ShuffleBuffer: 32, Seed: seed));
            var batch = new float[30 * D];
            acts.NextBatch(batch);
            return batch;
        }
        Assert.Equal(Draw(3), Draw(3));
        Assert.NotEqual(Draw(3), Draw(4));
    }

    [Fact]
    public void Normalize_ScalesToMeanNormSqrtD()
    {
        using var acts = new FileActivations(WriteShards(50), new FileActivationOptions(ShuffleBuffer: 50, Normalize: true));
        double mean = Enumerable.Range(0, 50).Average(r => Math.Sqrt(r * r + 2.0));
        Assert.Equal(Math.Sqrt(D) / mean, acts.Scale, 5);
    }

    [Fact]
    public void Shards_OfDifferentWidths_AreRejected_NamingTheFile()
    {
        string dir = WriteShards(10);
        using (var w = new NpyWriter(Path.Combine(dir, "wide.npy"), D + 1)) { w.Append(new float[D + 1]); w.Complete(); }
        var e = Assert.Throws<SaeFormatException>(() => new FileActivations(dir));
        Assert.Contains("wide.npy", e.Message);
    }

    [Fact]
    public void EmptyFolder_IsRejected() =>
        Assert.Contains("no .npy", Assert.Throws<SaeFormatException>(() => new FileActivations(Dir)).Message);

    [Fact]
    public void Safetensors_FileIsRead_ThroughItsOnlyMatrix()
    {
        string path = Path.Combine(Dir, "a.safetensors");
        SafeTensorsFile.Write(path, [("activations", [3, 2], [1f, 2, 3, 4, 5, 6]), ("ids", [3], [0f, 1, 2])]);
        using var acts = new FileActivations(path, new FileActivationOptions(ShuffleBuffer: 3));
        var batch = new float[30 * 2];
        acts.NextBatch(batch);
        Assert.All(Enumerable.Range(0, 30), r => Assert.Equal(batch[2 * r] + 1, batch[2 * r + 1]));
    }

    public static TheoryData<string> Architectures() => [.. SaeConfig.Architectures];

    /// <summary>Every architecture, top-AFA's norm-matched k* included (its targets follow the folded decoder norm).</summary>
    [Theory]
    [MemberData(nameof(Architectures))]
    public void FoldInputScale_GivesTheSameCodesOnRawInputs_AndScaledBackReconstructions(string arch)
    {
        const float s = 2.5f;
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, 8, 3, arch), seed: 1);
        TestBackends.Cpu.Upload<float>([0.1f, -0.2f, 0.3f, 0f], sae.BDec);
        var x = new float[] { 1, 2, 3, 4, -1, 0.5f, 2, 0 };
        var scaled = x.Select(v => v * s).ToArray();
        using var before = sae.EncodeCodes(scaled);
        var xhatScaled = sae.Decode(before);
        sae.FoldInputScale(s);
        using var after = sae.EncodeCodes(x);
        Assert.Equal(before.ToHost().Indices, after.ToHost().Indices);
        Tolerance.AssertClose(before.ToHost().Values, after.ToHost().Values, 1e-5, 1e-5, "codes");
        Tolerance.AssertClose(xhatScaled.Select(v => v / s).ToArray(), sae.Decode(after), 1e-5, 1e-5, "x̂");
    }
}
