using SaeGpu.Compute;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Formats;

public class CheckpointTests : TempDirectory
{
    [Fact]
    public void SaveThenLoad_RoundTripsWeightsAndConfig()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(5, 7, 3), seed: 4);
        TestBackends.Cpu.Upload<float>([1, 2, 3, 4, 5], sae.BDec);
        string path = Path.Combine(Dir, "a.saeckpt");
        Checkpoint.Save(sae, path);
        using var loaded = Checkpoint.Load(TestBackends.Reference, path);
        Assert.Equal(sae.Config, loaded.Config);
        var (a, b) = (sae.ToHost(), loaded.ToHost());
        Assert.Equal(a.WEnc, b.WEnc);
        Assert.Equal(a.BEnc, b.BEnc);
        Assert.Equal(a.WDec, b.WDec);
        Assert.Equal(a.BDec, b.BDec);
        Assert.Empty(Directory.GetFiles(Dir, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(Dir, ".*")));
    }

    [Fact]
    public void SaveThenLoad_KeepsMatryoshkaWidths()
    {
        var config = new SaeConfig(4, 16, 2, "batchtopk", [2, 6, 16]);
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, config, seed: 1);
        string path = Path.Combine(Dir, "m.saeckpt");
        Checkpoint.Save(sae, path);
        using var loaded = Checkpoint.Load(TestBackends.Cpu, path);
        Assert.Equal(config, loaded.Config);
        Assert.Equal([2, 6, 16], loaded.Config.MatryoshkaWidths!);
        Assert.Equal(sae.ToHost().WDec, loaded.ToHost().WDec);
    }

    // The layout of versions 2 and 3: int32 d, F, k, architecture number (v3: width count and widths), then W_enc, b_enc,
    // W_dec, b_dec and thresholds [F] as float32.
    private static void WriteLegacy(string path, bool v3, int d, int f, int k, int arch, int[] widths, float[][] arrays)
    {
        using var w = new BinaryWriter(File.Create(path));
        w.Write(v3 ? "SAEGPU03"u8 : "SAEGPU02"u8);
        foreach (int v in new[] { d, f, k, arch }) w.Write(v);
        if (v3)
        {
            w.Write(widths.Length);
            foreach (int m in widths) w.Write(m);
        }
        foreach (var a in arrays) foreach (float v in a) w.Write(v);
    }

    [Theory]
    [InlineData(false, 0, "topk")]
    [InlineData(true, 0, "topk")]
    [InlineData(true, 6, "jumprelu")]
    [InlineData(true, 8, "gba")]
    public void Load_ReadsVersion2And3Checkpoints(bool v3, int archNumber, string arch)
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(3, 5, 2, arch), seed: 6);
        var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
        float[] thresholds = [0.1f, 0.2f, 0.3f, 0.4f, 0.5f];
        string path = Path.Combine(Dir, "legacy.saeckpt");
        WriteLegacy(path, v3, 3, 5, 2, archNumber, [], [wEnc, bEnc, wDec, bDec, thresholds]);
        using var loaded = Checkpoint.Load(TestBackends.Cpu, path);
        Assert.Equal(sae.Config, loaded.Config);
        Assert.Equal(wEnc, loaded.ToHost().WEnc);
        Assert.Equal(bDec, loaded.ToHost().BDec);
        if (arch == "jumprelu") Assert.Equal(thresholds, TestBackends.Cpu.ToHost(loaded.Parameter("threshold")));
        else Assert.Equal(4, loaded.Parameters.Count);
    }

    [Fact]
    public void Load_ThrowsForBadMatryoshkaWidths_NamingFile()
    {
        string path = Path.Combine(Dir, "w.saeckpt");
        var (fd, f, d) = (64, 16, 4);
        WriteLegacy(path, true, d, f, 2, 0, [4, 20], [new float[fd], new float[f], new float[fd], new float[d], new float[f]]);
        var e = Assert.Throws<SaeFormatException>(() => Checkpoint.Load(TestBackends.Cpu, path));
        Assert.Contains(path, e.Message);
        Assert.Contains("MatryoshkaWidths", e.Message);
    }

    [Fact]
    public void SaveThenLoad_KeepsLatentParameters()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(3, 5, 2, "jumprelu"), seed: 6);
        TestBackends.Cpu.Upload<float>([0.5f, 0, 2, 3, 4], sae.Parameter("threshold"));
        string path = Path.Combine(Dir, "j.saeckpt");
        Checkpoint.Save(sae, path);
        using var loaded = Checkpoint.Load(TestBackends.Cpu, path);
        Assert.Equal([0.5f, 0, 2, 3, 4], TestBackends.Cpu.ToHost(loaded.Parameter("threshold")));
    }

    // rows = 2^31 − 1 made `rows + 1` overflow (an OverflowException on the offsets array) before the size check.
    [Fact]
    public void CodesFile_RowsOfIntMax_IsRefusedBySize_NotAnOverflow()
    {
        string path = Path.Combine(Dir, "c.codes");
        File.WriteAllBytes(path, [.. "SAECODE1"u8, .. BitConverter.GetBytes(int.MaxValue), .. BitConverter.GetBytes(4), .. BitConverter.GetBytes(0L), .. new byte[8]]);
        var e = Assert.Throws<SaeFormatException>(() => CodesFile.Load(path));
        Assert.Contains("rows=2147483647", e.Message);
        Assert.Equal(path, e.FilePath);
    }

    [Fact]
    public void CodesFile_RoundTrips_AndRejectsIndicesOutOfRange()
    {
        using var codes = SparseCodes.FromHost(TestBackends.Cpu, [0, 2, 2, 3], [1, 4, 0], [0.5f, -1f, 2f]);
        string path = Path.Combine(Dir, "c.codes");
        CodesFile.Save(codes, 5, path);
        var (o, i, v, f) = CodesFile.Load(path);
        Assert.Equal([0, 2, 2, 3], o);
        Assert.Equal([1, 4, 0], i);
        Assert.Equal([0.5f, -1f, 2f], v);
        Assert.Equal(5, f);
        CodesFile.Save(codes, 4, path); // index 4 is out of range for F = 4
        Assert.Contains("indices lie in", Assert.Throws<SaeFormatException>(() => CodesFile.Load(path)).Message);
        using var unsorted = SparseCodes.FromHost(TestBackends.Cpu, [0, 2], [3, 1], [1f, 1f]);
        CodesFile.Save(unsorted, 5, path);
        Assert.Contains("ascending", Assert.Throws<SaeFormatException>(() => CodesFile.Load(path)).Message);
    }

    [Fact]
    public void CodesWriter_BatchByBatch_WritesTheSameFileAsOneSave_AndLeavesNothingWhenNotCompleted()
    {
        string whole = Path.Combine(Dir, "whole.codes"), batched = Path.Combine(Dir, "batched.codes");
        using (var codes = SparseCodes.FromHost(TestBackends.Cpu, [0, 2, 2, 3, 5], [1, 4, 0, 2, 3], [0.5f, -1f, 2f, 3f, 4f]))
            CodesFile.Save(codes, 5, whole);
        using (var w = new CodesWriter(batched, 5))
        {
            w.Append([0, 2, 2], [1, 4], [0.5f, -1f]);
            w.Append([0, 1, 3], [0, 2, 3], [2f, 3f, 4f]);
            Assert.Equal((4, 5L), (w.Rows, w.Entries));
            Assert.Throws<ArgumentException>(() => w.Append([0, 2], [1], [1f]));
            w.Complete();
        }
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(batched));
        string abandoned = Path.Combine(Dir, "abandoned.codes");
        using (var w = new CodesWriter(abandoned, 5)) w.Append([0, 1], [2], [1f]);
        Assert.False(File.Exists(abandoned));
        Assert.Equal(2, Directory.GetFiles(Dir).Length);
    }

    [Fact]
    public void Load_ThrowsForMissingFile() =>
        Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => Checkpoint.Load(TestBackends.Cpu, Path.Combine(Dir, "none"))).Message);

    [Fact]
    public void Load_ThrowsForForeignFile()
    {
        string path = Path.Combine(Dir, "x.bin");
        File.WriteAllText(path, "definitely not a checkpoint");
        Assert.Contains("not a SaeGpu checkpoint", Assert.Throws<SaeFormatException>(() => Checkpoint.Load(TestBackends.Cpu, path)).Message);
    }

    [Fact]
    public void Load_ThrowsForTruncatedFile_NamingSizes()
    {
        using var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(5, 7, 3), seed: 4);
        string path = Path.Combine(Dir, "t.saeckpt");
        Checkpoint.Save(sae, path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        var e = Assert.Throws<SaeFormatException>(() => Checkpoint.Load(TestBackends.Cpu, path));
        Assert.Contains("checksum mismatch", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Save_OverwritesExistingCheckpointCompletely()
    {
        string path = Path.Combine(Dir, "o.saeckpt");
        using (var big = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(8, 16, 3), seed: 1)) Checkpoint.Save(big, path);
        using var small = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(2, 3, 1), seed: 2);
        Checkpoint.Save(small, path);
        using var loaded = Checkpoint.Load(TestBackends.Cpu, path);
        Assert.Equal(small.Config, loaded.Config);
    }
}
