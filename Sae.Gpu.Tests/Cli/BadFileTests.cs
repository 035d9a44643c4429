using System.Text;
using SaeGpu.Cli;
using SaeGpu.Data;
using SaeGpu.Formats;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Cli;

/// <summary>
/// The malformed files of issue 18, each through the command that reads it: exit code 2 and one line, <c>error: …</c>,
/// naming the file — never a stack trace (exit 70 would mean a bug), and never work on bad data.
/// </summary>
public class BadFileTests : TempDirectory
{
    private const int D = 8;

    public static TheoryData<string> Cases() =>
    [
        "safetensors-metadata-not-object", "safetensors-entry-not-object", "safetensors-shape-of-strings", "safetensors-duplicate-key",
        "safetensors-invalid-utf8-name", "safetensors-n-by-zero", "npy-shape-overflows", "npy-truncated-header-8", "npy-truncated-header-11",
        "npy-one-dimensional", "cfg-d-in-string", "cfg-d-sae-null", "cfg-d-sae-zero", "cfg-k-huge-float", "saeckpt-v3-header-24",
        "saeckpt-v3-header-27", "saeckpt-flipped-byte", "saestate-corrupt-length", "saestate-zeroed", "itda-k-too-large",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadFile_GivesExit2_AndOneLineNamingTheFile(string name)
    {
        var (file, args) = Build(name);
        var error = new StringWriter();
        int exit = SaeCli.Run(args, TextWriter.Null, error);
        string[] lines = error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(exit == 2 && lines.Length == 1, $"{name}: exit {exit}, stderr:\n{error}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(file, lines[0]);
    }

    [Fact]
    public void Failures_MapToTheDocumentedExitCodes_AndABugPrintsItsTrace()
    {
        var command = SaeCli.Create(TextWriter.Null).Subcommands.First(c => c.Name == "eval");
        (int, string) Fail(Exception e)
        {
            var error = new StringWriter();
            return (SaeCli.Fail(e, command, error), error.ToString());
        }
        var (exit, text) = Fail(new SaeFormatException("f.npy", "bad", offset: 8));
        Assert.Equal((2, "error: 'f.npy' at byte 8: bad\n"), (exit, text.ReplaceLineEndings("\n")));
        (exit, text) = Fail(new CliException("no"));
        Assert.Equal(2, exit);
        Assert.Contains("usage: sae eval", text);
        Assert.Equal(1, Fail(new UnauthorizedAccessException("denied")).Item1);
        (exit, text) = Fail(new InvalidOperationException("boom"));
        Assert.Equal(SaeCli.InternalError, exit);
        Assert.StartsWith("internal error: InvalidOperationException: boom", text);
        Assert.Contains("System.InvalidOperationException: boom", text);
    }

    // The file of case `name` and the command line that reads it.
    private (string File, string[] Args) Build(string name)
    {
        string kind = name[..name.IndexOf('-')];
        return kind switch
        {
            "safetensors" => Data(SafeTensors(name), ".safetensors"),
            "npy" => Data(Npy(name), ".npy"),
            "cfg" => SaeLensCfg(name),
            "saeckpt" => Native(name),
            "saestate" => State(name),
            _ => Itda(),
        };
    }

    private (string, string[]) Data(byte[] bytes, string extension)
    {
        string path = Path.Combine(Dir, "bad" + extension);
        File.WriteAllBytes(path, bytes);
        return (path, ["train", "--data", path, "--steps", "1", "--batch", "4", "--latents", "16", "--k", "2", "--out", Path.Combine(Dir, "out")]);
    }

    private static byte[] SafeTensors(string name)
    {
        string json = name switch
        {
            "safetensors-metadata-not-object" => """{"__metadata__":5,"x":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}""",
            "safetensors-entry-not-object" => """{"x":[1,2]}""",
            "safetensors-shape-of-strings" => """{"x":{"dtype":"F32","shape":["a",2],"data_offsets":[0,8]}}""",
            "safetensors-duplicate-key" => """{"x":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}""",
            "safetensors-n-by-zero" => """{"x":{"dtype":"F32","shape":[3,0],"data_offsets":[0,0]}}""",
            _ => "{\"\u00ff\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}",
        };
        var header = name == "safetensors-invalid-utf8-name" ? Encoding.Latin1.GetBytes(json) : Encoding.UTF8.GetBytes(json);
        int data = name == "safetensors-n-by-zero" || name == "safetensors-entry-not-object" ? 0 : 8;
        return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[data]];
    }

    private static byte[] Npy(string name)
    {
        string shape = name switch { "npy-shape-overflows" => "(1152921504606846976, 16)", "npy-one-dimensional" => "(4,)", _ => "(2, 8)" };
        var header = Encoding.Latin1.GetBytes($"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}".PadRight(117) + "\n");
        byte[] file = [0x93, .. "NUMPY"u8, 1, 0, .. BitConverter.GetBytes((ushort)header.Length), .. header, .. new byte[16]];
        return name switch { "npy-truncated-header-8" => file[..8], "npy-truncated-header-11" => file[..11], _ => file };
    }

    private string ValidData()
    {
        string path = Path.Combine(Dir, "good.npy");
        using var w = new NpyWriter(path, D);
        w.Append(new float[16 * D]);
        w.Complete();
        return path;
    }

    private (string, string[]) SaeLensCfg(string name)
    {
        string dir = Path.Combine(Dir, "saelens");
        using (var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, 16, 2), seed: 1)) sae.Save(dir);
        string cfg = Path.Combine(dir, SaeLensFormat.ConfigFile), text = File.ReadAllText(cfg);
        text = name switch
        {
            "cfg-d-in-string" => text.Replace("\"d_in\": 8", "\"d_in\": \"8\""),
            "cfg-d-sae-null" => text.Replace("\"d_sae\": 16", "\"d_sae\": null"),
            "cfg-d-sae-zero" => text.Replace("\"d_sae\": 16", "\"d_sae\": 0"),
            _ => text.Replace("\"saegpu_k\": 2", "\"saegpu_k\": 1e300"),
        };
        File.WriteAllText(cfg, text);
        return (cfg, ["eval", "--sae", dir, "--data", ValidData()]);
    }

    private (string, string[]) Native(string name)
    {
        string path = Path.Combine(Dir, "bad.saeckpt");
        if (name == "saeckpt-flipped-byte")
        {
            using (var sae = SparseAutoencoder.CreateRandom(TestBackends.Cpu, new SaeConfig(D, 16, 2), seed: 1)) sae.Save(path);
            var bytes = File.ReadAllBytes(path);
            bytes[bytes.Length / 2] ^= 0x10;
            File.WriteAllBytes(path, bytes);
        }
        else
        {
            // A version-3 header is 8 + 20 bytes (d, F, k, architecture, width count); 24 or 27 of them end inside it.
            byte[] header = [.. "SAEGPU03"u8, .. BitConverter.GetBytes(D), .. BitConverter.GetBytes(16), .. BitConverter.GetBytes(2), .. BitConverter.GetBytes(0), .. BitConverter.GetBytes(0)];
            File.WriteAllBytes(path, header[..(name.EndsWith("24") ? 24 : 27)]);
        }
        return (path, ["eval", "--sae", path, "--data", ValidData()]);
    }

    private (string, string[]) State(string name)
    {
        string run = Path.Combine(Dir, "run");
        Assert.Equal(0, SaeCli.Invoke(["train", "--steps", "20", "--batch", "8", "--d", "8", "--latents", "16", "--k", "2", "--out", run, "--stop-after", "3"], TextWriter.Null));
        string state = TrainingRun.StatePath(run);
        var bytes = File.ReadAllBytes(state);
        if (name == "saestate-zeroed") Array.Clear(bytes);
        else bytes[8] = 0xFF; // the header string's 7-bit length: 0xFF continues into the JSON's bytes
        File.WriteAllBytes(state, bytes);
        return (state, ["train", "--resume", run]);
    }

    private (string, string[]) Itda()
    {
        string path = Path.Combine(Dir, "bad.itda");
        int d = 4, n = 2;
        byte[] file = [.. "SAEITDA1"u8, .. BitConverter.GetBytes(d), .. BitConverter.GetBytes(n), .. BitConverter.GetBytes(int.MaxValue),
            .. new byte[n * d * 4 + n * 12]];
        File.WriteAllBytes(path, file);
        return (path, ["itda", "encode", "--dict", path]);
    }
}
