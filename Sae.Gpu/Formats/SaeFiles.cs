using SaeGpu.Compute;

namespace SaeGpu.Formats;

/// <summary>
/// Saves and loads an SAE in whichever format its path names: a path ending in <c>.saeckpt</c> is SaeGpu's native
/// <see cref="Checkpoint"/>; any other path is a folder, written in <see cref="SaeLensFormat"/>. Loading a folder reads
/// SAELens (<c>sae_weights.safetensors</c>) or sparsify (<c>sae.safetensors</c>) by the weights file it holds.
/// </summary>
internal static class SaeFiles
{
    /// <summary>The native checkpoint extension.</summary>
    public const string NativeExtension = ".saeckpt";

    /// <summary>The format a path names: <see cref="SaeFormat.Native"/> for <c>*.saeckpt</c>, else a <see cref="SaeFormat.SaeLens"/> folder.</summary>
    public static SaeFormat FormatOf(string path) =>
        path.EndsWith(NativeExtension, StringComparison.OrdinalIgnoreCase) ? SaeFormat.Native : SaeFormat.SaeLens;

    /// <summary>Writes <paramref name="sae"/> to <paramref name="path"/> (native file or SAELens folder).</summary>
    public static void Save(SparseAutoencoder sae, string path) => sae.Save(path);

    /// <summary>
    /// Writes <paramref name="sae"/>, trained on inputs scaled by <paramref name="inputScale"/>, as the SAE that serves raw
    /// inputs (<see cref="SparseAutoencoder.FoldInputScale"/> applied to a copy; <paramref name="sae"/> itself is unchanged, so training can go on).
    /// </summary>
    public static void Save(SparseAutoencoder sae, string path, float inputScale)
    {
        ArgumentNullException.ThrowIfNull(sae);
        if (inputScale == 1f) { Save(sae, path); return; }
        var (wEnc, bEnc, wDec, bDec) = sae.ToHost();
        using var copy = SparseAutoencoder.FromWeights(sae.Backend, sae.Config, wEnc, bEnc, wDec, bDec, sae.LatentToHost());
        copy.FoldInputScale(inputScale);
        Save(copy, path);
    }

    /// <summary>
    /// A file that belongs with the SAE saved at <paramref name="path"/>: <paramref name="name"/> inside a SAELens folder, or
    /// <c>&lt;file without .saeckpt&gt;.&lt;name&gt;</c> next to a native checkpoint.
    /// </summary>
    public static string CompanionPath(string path, string name) =>
        path.EndsWith(NativeExtension, StringComparison.OrdinalIgnoreCase) ? $"{path[..^NativeExtension.Length]}.{name}" : Path.Combine(path, name);

    /// <summary>Where a training run saving to <paramref name="path"/> keeps its resumable <see cref="Training.TrainingState"/>.</summary>
    public static string StatePath(string path) => CompanionPath(path, "training_state.saestate");

    /// <summary>Loads an SAE from a native checkpoint file, a SAELens folder or a sparsify folder.</summary>
    public static SparseAutoencoder Load(Backend backend, string path)
    {
        if (File.Exists(path)) return Checkpoint.Load(backend, path);
        if (!Directory.Exists(path)) throw new FileNotFoundException($"SAE '{path}' does not exist (expected a {NativeExtension} file or a SAELens/sparsify folder).", path);
        if (File.Exists(Path.Combine(path, SaeLensFormat.WeightsFile))) return SaeLensFormat.Load(backend, path);
        if (File.Exists(Path.Combine(path, "sae.safetensors"))) return SparsifyFormat.Load(backend, path);
        throw new SaeFormatException(path, $"the folder holds neither {SaeLensFormat.WeightsFile} (SAELens) nor sae.safetensors (sparsify).");
    }
}
