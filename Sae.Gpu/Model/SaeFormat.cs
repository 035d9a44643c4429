namespace SaeGpu;

/// <summary>The file formats <see cref="SparseAutoencoder.Save"/> writes (<see cref="SparseAutoencoder.Load"/> also reads sparsify folders).</summary>
public enum SaeFormat
{
    /// <summary>
    /// SaeGpu's native checkpoint: one file (by convention <c>*.saeckpt</c>) holding the config as JSON and every parameter by
    /// name; exact for every architecture.
    /// </summary>
    Native,

    /// <summary>
    /// A SAELens folder: <c>cfg.json</c> (SAELens 6 layout) and <c>sae_weights.safetensors</c> (W_enc stored [d, F]). SAELens
    /// runs each architecture as its nearest SAELens equivalent; SaeGpu restores it exactly from the cfg's metadata.
    /// </summary>
    SaeLens,
}
