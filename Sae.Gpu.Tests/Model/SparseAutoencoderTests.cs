using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Model;

/// <summary>The public face of an SAE: create, load, save, encode into reusable batches, decode, evaluate, parameters.</summary>
public class SparseAutoencoderTests : TempDirectory
{
    private const int D = 16, F = 48, K = 4;

    private static float[] Rows(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n * D).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
    }

    [Theory]
    [InlineData("reference", "topk")]
    [InlineData("cpu", "topk")]
    [InlineData("cpu", "jumprelu")]
    [InlineData("gpu", "batchtopk")]
    public void Encode_IntoABatch_EqualsTheDeviceCodes_AndDecodeIsCodesTimesWDecPlusBDec(string backend, string arch)
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, F, K, arch), TestBackends.ByName(backend), seed: 3);
        sae.SetParameter("b_enc", [.. Enumerable.Range(0, F).Select(j => 0.01f * (j % 5))]);
        var x = Rows(9, 1);
        var batch = sae.Encode(x);
        using var device = sae.EncodeCodes(x);
        var (o, i, v) = device.ToHost();
        Assert.Equal(o, batch.Offsets.ToArray());
        Assert.Equal(i, batch.Indices.ToArray());
        Assert.Equal(v, batch.Values.ToArray());
        Assert.Equal(sae.Decode(device), sae.Decode(batch));
        var dense = new float[9 * F];
        batch.ToDense(F, dense);
        var (wDec, bDec) = (sae.GetParameter("W_dec"), sae.GetParameter("b_dec"));
        var expected = new float[9 * D];
        for (int r = 0; r < 9; r++)
            for (int c = 0; c < D; c++)
                expected[r * D + c] = (float)(bDec[c] + Enumerable.Range(0, F).Sum(j => (double)dense[r * F + j] * wDec[j * D + c]));
        Tolerance.AssertClose(expected, sae.Decode(batch), 1e-5, 1e-4, "x̂");
        Assert.Equal(9, batch.Rows);
        for (int r = 0; r < 9; r++) Assert.Equal(o[r + 1] - o[r], batch.RowIndices(r).Length);
    }

    // Once warm, encoding into a reused batch and decoding into a reused array allocate no buffers: what remains is the CPU
    // kernels' Parallel.For bookkeeping (~2 KB per op measured), the same for any batch size. A fresh batch of 1,024 rows
    // would allocate its ~37 KB of arrays (and the old per-call encode its selector, codes and input tensors).
    [Fact]
    public void Encode_IntoAReusedBatch_AllocatesNothingThatGrowsWithTheBatch()
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, F, K), TestBackends.Cpu, seed: 1);
        long PerCall(int rows)
        {
            var x = Rows(rows, 2);
            var batch = new SparseBatch();
            var xhat = new float[x.Length];
            for (int warm = 0; warm < 3; warm++) { sae.Encode(x, batch); sae.Decode(batch, xhat); }
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int call = 0; call < 20; call++) { sae.Encode(x, batch); sae.Decode(batch, xhat); }
            return (GC.GetAllocatedBytesForCurrentThread() - before) / 20;
        }
        long small = PerCall(64), large = PerCall(1024);
        Assert.True(large < 8192 && Math.Abs(large - small) < 1024, $"allocated per encode + decode: {small} bytes at B = 64, {large} at B = 1024");
    }

    [Fact]
    public void SaveThenLoad_InEachFormat_KeepsTheCodes()
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, F, K, "abstopk"), seed: 5);
        var x = Rows(7, 3);
        var expected = sae.Encode(x);
        foreach (var (path, format) in new[] { (Path.Combine(Dir, "a.saeckpt"), (SaeFormat?)null), (Path.Combine(Dir, "lens"), null),
                     (Path.Combine(Dir, "native.bin"), SaeFormat.Native) })
        {
            sae.Save(path, format);
            using var loaded = SparseAutoencoder.Load(path, TestBackends.Reference);
            Assert.Equal(sae.Config, loaded.Config);
            var actual = loaded.Encode(x);
            Assert.Equal(expected.Indices.ToArray(), actual.Indices.ToArray());
            Tolerance.AssertClose(expected.Values.ToArray(), actual.Values.ToArray(), 1e-5, 1e-4, path);
        }
    }

    [Fact]
    public void Evaluate_MatchesTheMetricsComputedByHand_AndAStreamInPiecesAgrees()
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, F, K), TestBackends.Cpu, seed: 2);
        var x = Rows(40, 4);
        var m = sae.Evaluate(x);
        var xhat = sae.Decode(sae.Encode(x));
        double sse = x.Zip(xhat, (a, b) => ((double)a - b) * ((double)a - b)).Sum();
        Assert.Equal(40, m.Tokens);
        Assert.Equal(sse / (40.0 * D), m.Mse, 12);
        Assert.Equal(SaeMetrics.ComputeFvu(x, xhat, D), m.Fvu, 6);
        Assert.Equal(K, m.L0);
        var pieces = new[] { x.AsMemory(0, 13 * D), x.AsMemory(13 * D, 27 * D) }.Select(p => (ReadOnlyMemory<float>)p);
        int batches = 0;
        var streamed = sae.Evaluate(pieces, _ => batches++);
        Assert.Equal(2, batches);
        Assert.Equal(m.Fvu, streamed.Fvu, 10);
        Assert.Equal(m.Mse, streamed.Mse, 12);
        Assert.Equal(m.DeadFraction, streamed.DeadFraction);
    }

    [Fact]
    public void Parameters_AreNamedByArchitecture_AndRoundTrip()
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, F, K, "jumprelu"), seed: 1);
        Assert.Equal(["W_enc", "b_enc", "W_dec", "b_dec", "threshold"], sae.ParameterNames);
        sae.SetParameter("threshold", Enumerable.Repeat(0.5f, F).ToArray());
        Assert.All(sae.GetParameter("threshold"), t => Assert.Equal(0.5f, t));
        Assert.Equal(F * D, sae.GetParameter("W_dec").Length);
    }

    [Fact] public void Encode_ThrowsForRowsOfAnotherWidth() => ThrowsNaming("x", sae => sae.Encode(new float[D + 1]));
    [Fact] public void Decode_ThrowsForADestinationOfTheWrongLength() => ThrowsNaming("destination", sae => sae.Decode(sae.Encode(Rows(2, 1)), new float[D]));
    [Fact] public void Decode_ThrowsForALatentOutsideF() => ThrowsNaming("codes", sae => sae.Decode(new SparseBatch([0, 1], [F], [1f])));
    [Fact] public void SetParameter_ThrowsForTheWrongLength() => ThrowsNaming("values", sae => sae.SetParameter("b_dec", new float[D - 1]));
    [Fact] public void GetParameter_ThrowsForAnUnknownName() => ThrowsNaming("name", sae => sae.GetParameter("threshold"));
    [Fact] public void SparseBatch_ThrowsForUnsortedRows() => Assert.Equal("indices", Assert.Throws<ArgumentException>(() => new SparseBatch([0, 2], [3, 1], [1f, 1f])).ParamName);
    [Fact] public void SparseBatch_ThrowsForOffsetsPastTheEntries() => Assert.Equal("indices", Assert.Throws<ArgumentException>(() => new SparseBatch([0, 3], [1], [1f])).ParamName);

    [Fact]
    public void Load_ThrowsNamingTheMissingPath() =>
        Assert.Contains("nowhere", Assert.Throws<FileNotFoundException>(() => SparseAutoencoder.Load(Path.Combine(Dir, "nowhere"))).Message);

    private static void ThrowsNaming(string argument, Action<SparseAutoencoder> act)
    {
        using var sae = SparseAutoencoder.Create(new SaeConfig(D, F, K), TestBackends.Cpu, seed: 1);
        Assert.Equal(argument, Assert.ThrowsAny<ArgumentException>(() => act(sae)).ParamName);
    }
}
