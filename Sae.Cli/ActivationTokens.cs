using SaeGpu.Data;

namespace SaeGpu.Cli;

/// <summary>The token of each activation row: the ids <c>sae extract</c> writes beside its activations, and a vocabulary.</summary>
public static class ActivationTokens
{
    /// <summary>
    /// The token strings of the first <paramref name="rows"/> rows of <paramref name="data"/> in file order: each file's
    /// <see cref="FileActivations.TokensPath"/> ids looked up in <paramref name="vocabPath"/> (one word piece a line, line i = id i) or, when it
    /// is null, in MiniLM's vocabulary (the one <c>sae extract</c> uses). Errors name the missing or mismatched file.
    /// </summary>
    public static string[] Read(FileActivations data, long rows, string? vocabPath)
    {
        var vocab = Vocabulary(vocabPath);
        var tokens = new List<string>();
        foreach (string file in data.Files)
        {
            if (tokens.Count >= rows) break;
            var ids = CliOptions.Checked(() => data.ReadTokenIds(file));
            string path = FileActivations.TokensPath(file);
            foreach (int id in ids.Take((int)Math.Min(ids.Length, rows - tokens.Count)))
                tokens.Add(id >= 0 && id < vocab.Length ? vocab[id] : throw new CliException($"'{path}': token id {id} is outside the vocabulary of {vocab.Length} pieces."));
        }
        return [.. tokens];
    }

    private static string[] Vocabulary(string? path)
    {
        if (path is not null)
            return CliOptions.Checked(() => File.ReadAllLines(path));
#if SAE_EXTRACT
        return CliOptions.Checked(() => System.Text.Encoding.UTF8.GetString(Extract.MiniLmResources.Load().Vocab).Split('\n').Select(l => l.TrimEnd('\r')).ToArray());
#else
        throw new CliException("This sae was built without MiniLM (SaeExtract=false); give the vocabulary with --vocab.");
#endif
    }
}
