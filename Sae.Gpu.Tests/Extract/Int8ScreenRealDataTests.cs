using SaeGpu.Cli;
using SaeGpu.Data;
using SaeGpu.Kernels;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Extract;

/// <summary>
/// The int8 screen on real activations (issue 19): MiniLM layer-3 activations of this repository's documentation (real
/// English prose, tables and code, about 25,000 tokens), a TopK SAE trained on them with the CLI, then every row encoded
/// with and without the screen on every int8 kernel this CPU runs. Trained dictionaries put many latents close to each
/// row's k-th score — the hard case for the screen's bound — so this checks exactness where the margins are thin, and that
/// the screen still skips most latents there.
/// </summary>
public class Int8ScreenRealDataTests : TempDirectory
{
    [Fact]
    public void TrainedSaeOnMiniLmActivations_ScreenedCodesEqualFp32Codes_AndMostLatentsAreSkipped()
    {
        string texts = Path.Combine(Dir, "texts"), acts = Path.Combine(Dir, "acts"), run = Path.Combine(Dir, "sae");
        Directory.CreateDirectory(texts);
        foreach (string doc in Directory.GetFiles(Path.Combine(RepositoryRoot(), "docs"), "*.md"))
            File.Copy(doc, Path.Combine(texts, Path.GetFileNameWithoutExtension(doc) + ".txt"));
        Assert.Equal(0, SaeCli.Invoke(["extract", "--layer", "3", "--out", Path.Combine(acts, "docs-l3.npy"), texts], TextWriter.Null));
        Assert.Equal(0, SaeCli.Invoke(["train", "--data", acts, "--normalize", "--latents", "1024", "--k", "16", "--batch", "512",
            "--steps", "300", "--out", run], TextWriter.Null));

        using var sae = SparseAutoencoder.Load(run);
        float[] w = sae.GetParameter("W_enc"), bEnc = sae.GetParameter("b_enc"), bDec = sae.GetParameter("b_dec");
        using var data = new FileActivations(Path.Combine(acts, "docs-l3.npy"), new FileActivationOptions(ShuffleBuffer: 1));
        var x = new float[data.TotalRows * data.InputDim];
        int rows = data.ReadInOrder(x);
        Assert.InRange(rows, 10_000, 1_000_000);
        const int k = 16;

        var expected = Encode(x, rows, w, bEnc, bDec, k, null, null);
        foreach (var kernel in Enum.GetValues<Int8Kernel>().Where(Int8Screen.IsSupported))
        {
            var tally = new EncodeTopK.ScreenTally();
            var actual = Encode(x, rows, w, bEnc, bDec, k, kernel, tally);
            Assert.Equal(expected.Offsets, actual.Offsets);
            Assert.Equal(expected.Indices, actual.Indices);
            Assert.Equal(expected.Values.Select(BitConverter.SingleToInt32Bits), actual.Values.Select(BitConverter.SingleToInt32Bits));
            Assert.Equal((long)rows * bEnc.Length, tally.Screened);
            Assert.InRange((double)tally.Admitted / tally.Screened, (double)k / bEnc.Length, 0.5);
        }
    }

    private static (int[] Offsets, int[] Indices, float[] Values) Encode(float[] x, int rows, float[] w, float[] bEnc, float[] bDec, int k,
        Int8Kernel? kernel, EncodeTopK.ScreenTally? tally)
    {
        var (offsets, indices, values) = (new int[rows + 1], new int[rows * k], new float[rows * k]);
        EncodeTopK.Cpu(x.AsSpan(0, rows * bDec.Length), bDec, w, bEnc, [], k, false, [], offsets, indices, values, kernel, tally);
        return (offsets, indices, values);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "SaeGpu.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no SaeGpu.sln above {AppContext.BaseDirectory}");
    }
}
