using SaeGpu.Cli;
using SaeGpu.Data;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Formats;

/// <summary>Checksums on what SaeGpu writes, content fingerprints of the data a run resumes on, and stale temporary files.</summary>
public class IntegrityTests : TempDirectory
{
    private static SparseAutoencoder Sae() => SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(6, 12, 3), seed: 2);

    [Fact]
    public void Checkpoint_AnyFlippedByte_IsRefused_ByTheChecksum()
    {
        string path = Path.Combine(Dir, "m.saeckpt");
        using (var sae = Sae()) Checkpoint.Save(sae, path);
        var good = File.ReadAllBytes(path);
        foreach (int at in new[] { 9, 40, good.Length / 2, good.Length - 9, good.Length - 1 })
        {
            var bytes = (byte[])good.Clone();
            bytes[at] ^= 0x01;
            File.WriteAllBytes(path, bytes);
            var e = Assert.Throws<SaeFormatException>(() => Checkpoint.Load(TestBackends.Cpu, path));
            Assert.Contains("checksum mismatch", e.Message);
            Assert.Equal(path, e.FilePath);
        }
    }

    [Fact]
    public void Checkpoint_Version4_WithoutAChecksum_StillLoads()
    {
        string path = Path.Combine(Dir, "m.saeckpt");
        using var sae = Sae();
        Checkpoint.Save(sae, path);
        var v5 = File.ReadAllBytes(path);
        File.WriteAllBytes(path, [.. "SAEGPU04"u8, .. v5[8..^Checksum.Size]]);
        using var loaded = Checkpoint.Load(TestBackends.Cpu, path);
        Assert.Equal(sae.ToHost().WEnc, loaded.ToHost().WEnc);
        Assert.Equal(sae.ToHost().WDec, loaded.ToHost().WDec);
    }

    [Fact]
    public void SaeLensWeights_ChangedData_IsRefused_NamingTheChecksumField()
    {
        string dir = Path.Combine(Dir, "s");
        using (var sae = Sae()) sae.Save(dir);
        string weights = Path.Combine(dir, SaeLensFormat.WeightsFile);
        var bytes = File.ReadAllBytes(weights);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(weights, bytes);
        var e = Assert.Throws<SaeFormatException>(() => SaeFiles.Load(TestBackends.Cpu, dir));
        Assert.Equal("__metadata__.saegpu_xxh64", e.Field);
        Assert.Equal(weights, e.FilePath);
    }

    // A data file replaced by another with the same name, shape and size is caught on resume by its content fingerprint.
    [Fact]
    public void Resume_OnADataFileReplacedBySameSizedOther_IsRefused()
    {
        string data = Path.Combine(Dir, "x.npy"), run = Path.Combine(Dir, "run");
        void Write(int seed)
        {
            var rows = new float[2000 * 8];
            new SyntheticActivations(new SyntheticOptions(InputDim: 8, Features: 16, Seed: seed)).NextBatch(rows);
            using var w = new NpyWriter(data, 8);
            w.Append(rows);
            w.Complete();
        }
        Write(1);
        Assert.Equal(0, SaeCli.Invoke(["train", "--data", data, "--steps", "20", "--batch", "16", "--latents", "16", "--k", "2", "--out", run, "--stop-after", "3"], TextWriter.Null));
        Write(2);
        var error = new StringWriter();
        Assert.Equal(2, SaeCli.Run(["train", "--resume", run], TextWriter.Null, error));
        Assert.Contains("Content fingerprint of shard 0", error.ToString());
        Assert.Contains(TrainingRun.StatePath(run), error.ToString());
    }

    // A save removes the old temporary files of processes that no longer run (a killed save's leftovers, parts included),
    // and keeps those of running processes, recent ones (a writer this machine cannot see may own them) and other targets'.
    [Fact]
    public void Saves_RemoveTheOldTemporaryFilesOfDeadProcesses_AndKeepTheRest()
    {
        string model = Path.Combine(Dir, "m.saeckpt"), codes = Path.Combine(Dir, "c.codes");
        const int Dead = 2_147_000_000;
        string[] stale = [AtomicFile.TemporaryPath(model, Dead), AtomicFile.TemporaryPath(codes, Dead, "offsets")];
        string[] kept = [AtomicFile.TemporaryPath(model, 1), AtomicFile.TemporaryPath(Path.Combine(Dir, "m.saeckpt.5"), Dead), AtomicFile.TemporaryPath(codes, Dead - 1)];
        foreach (string f in stale.Concat(kept)) File.WriteAllBytes(f, [1, 2, 3]);
        foreach (string f in stale.Append(kept[1])) File.SetLastWriteTimeUtc(f, DateTime.UtcNow - TimeSpan.FromHours(1));
        using (var sae = Sae()) Checkpoint.Save(sae, model);
        new CodesWriter(codes, 4).Dispose(); // opening a codes file cleans its folder of stale parts
        Assert.All(stale, f => Assert.False(File.Exists(f), f));
        Assert.All(kept, f => Assert.True(File.Exists(f), f));
    }
}
