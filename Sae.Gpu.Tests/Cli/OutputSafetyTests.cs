using SaeGpu.Cli;
using SaeGpu.Data;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Cli;

/// <summary>An output is checked before any work: never an input, inside one or holding one, and writable.</summary>
public class OutputSafetyTests : TempDirectory
{
    private string Activations(string name)
    {
        string path = Path.Combine(Dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var rows = new float[600 * 16];
        new SyntheticActivations(new SyntheticOptions(InputDim: 16, Features: 24)).NextBatch(rows);
        using var writer = new NpyWriter(path, 16);
        writer.Append(rows);
        writer.Complete();
        return path;
    }

    private static string Refused(params string[] args) => Assert.Throws<CliException>(() => SaeCli.Invoke(args, TextWriter.Null)).Message;

    [Fact]
    public void Encode_OverItsOwnData_IsRefused_AndTheDataIsUntouched()
    {
        string data = Activations("x.npy"), sae = Path.Combine(Dir, "s.saeckpt");
        Assert.Equal(0, SaeCli.Invoke(["train", "--steps", "5", "--batch", "64", "--d", "16", "--latents", "32", "--k", "3", "--out", sae], TextWriter.Null));
        byte[] before = File.ReadAllBytes(data);
        Assert.Contains("is the input", Refused("encode", "--sae", sae, "--data", data, "--out", data));
        Assert.Contains("is the input", Refused("encode", "--sae", sae, "--data", data, "--out", sae));
        Assert.Equal(before, File.ReadAllBytes(data));
    }

    [Fact]
    public void Train_IntoOrAroundItsDataFolder_IsRefused_BeforeAnyStep()
    {
        string data = Activations(Path.Combine("acts", "x.npy")), folder = Path.GetDirectoryName(data)!;
        string[] common = ["train", "--steps", "5", "--batch", "64", "--latents", "32", "--k", "3"];
        Assert.Contains("is the input", Refused([.. common, "--data", folder, "--out", folder]));
        Assert.Contains("is inside the input", Refused([.. common, "--data", folder, "--out", Path.Combine(folder, "sae")]));
        Assert.Contains("contains the input", Refused([.. common, "--data", data, "--out", Dir]));
        Assert.Equal(["x.npy"], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public void Train_ToAPathUnderAFile_IsRefusedBeforeTraining()
    {
        string file = Path.Combine(Dir, "notes.txt");
        File.WriteAllText(file, "a file");
        string message = Refused("train", "--steps", "5000", "--out", Path.Combine(file, "sae"));
        Assert.Contains("is a file, not a folder", message);
        Assert.Contains("notes.txt", message);
    }

    [Fact]
    public void ItdaBuild_OverItsData_IsRefused()
    {
        string data = Activations("x.npy");
        Assert.Contains("is the input", Refused("itda", "build", "--data", data, "--out", data));
    }

    [Fact]
    public void Train_WithABatchLargerThanAnArray_IsRefusedWithTheNumbers()
    {
        string message = Refused("train", "--batch", "40000000", "--out", Path.Combine(Dir, "s"));
        Assert.Contains("40000000", message);
        Assert.Contains("largest array", message);
    }
}
