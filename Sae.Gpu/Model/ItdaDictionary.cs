using SaeGpu.Compute;
using SaeGpu.Formats;
using SaeGpu.Training;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>Where an ITDA atom came from: the activation at token <paramref name="Token"/> of sequence <paramref name="Sequence"/>.</summary>
/// <param name="Sequence">Index of the sequence (document) in the token stream.</param>
/// <param name="Token">Position of the token within its sequence.</param>
internal readonly record struct AtomLabel(long Sequence, int Token);

/// <summary>
/// An ITDA dictionary (Leask, Nanda, Al Moubayed, arXiv 2505.17769): atoms [n, d] that are real activations scaled to unit
/// norm, each labelled with where it came from (sequence and token position in the stream it was built from). Encoding is
/// matching pursuit with k steps (<c>Backend.MatchingPursuit</c>), decoding is x̂ = codes·atoms (no bias). Two
/// dictionaries built from the same token stream (two layers, two models with one tokenizer) are compared by the Jaccard
/// similarity of their label sets (<see cref="Jaccard"/>). Build one with <see cref="Build"/>. The atoms live on the
/// backend: dispose it.
/// </summary>
public sealed class ItdaDictionary : IDisposable
{
    private static readonly byte[] Magic = "SAEITDA1"u8.ToArray();
    private readonly AtomLabel[] labels;

    /// <summary>A dictionary of host atoms [n, d] (unit rows) and their labels [n], uploaded to <paramref name="backend"/>.</summary>
    internal ItdaDictionary(Backend backend, int inputDim, ReadOnlySpan<float> atoms, IReadOnlyList<AtomLabel> labels, int k)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inputDim);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (labels.Count == 0 || atoms.Length != (long)labels.Count * inputDim)
            throw new ArgumentException($"ITDA dictionary needs n ≥ 1 atoms of d = {inputDim} values and one label each; got {atoms.Length} values and {labels.Count} labels.");
        Backend = backend;
        (InputDim, K) = (inputDim, k);
        this.labels = [.. labels];
        Atoms = backend.FromHost(atoms);
        zero = backend.Allocate<float>(inputDim);
    }

    private readonly Tensor<float> zero;

    /// <summary>The backend holding the atoms.</summary>
    public Backend Backend { get; }

    /// <summary>d, the width of each atom.</summary>
    public int InputDim { get; }

    /// <summary>Matching-pursuit steps used by <c>Backend.Encode</c> (an upper bound on L0).</summary>
    public int K { get; }

    /// <summary>Number of atoms n.</summary>
    public int Size => labels.Length;

    /// <summary>Atoms [n, d], unit rows.</summary>
    internal Tensor<float> Atoms { get; }

    /// <summary>The provenance of each atom [n].</summary>
    internal IReadOnlyList<AtomLabel> Labels => labels;

    /// <summary>
    /// Builds a dictionary from <paramref name="tokens"/> activations of <paramref name="source"/>, read in batches of
    /// <paramref name="batchRows"/>; the stream is cut into sequences of <paramref name="sequenceLength"/> tokens, and each atom
    /// is labelled (position / length, position mod length). Per batch, as the ITDA code's trainer does: while the dictionary
    /// has fewer than d atoms, the batch's most frequent distinct non-zero activations are added first; then the batch is
    /// encoded with the current dictionary by matching pursuit, and every activation whose normalized reconstruction error
    /// exceeds τ (<see cref="ItdaOptions.Threshold"/>) is added, scaled to unit norm.
    /// </summary>
    public static ItdaDictionary Build(IActivationSource source, long tokens, int batchRows, int sequenceLength, ItdaOptions options, Backend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchRows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        var builder = new ItdaBuilder(backend ?? Backend.Default, source.InputDim, options);
        var x = new float[(long)batchRows * source.InputDim];
        var labels = new AtomLabel[batchRows];
        for (long done = 0; done < tokens; done += batchRows)
        {
            source.NextBatch(x);
            for (int r = 0; r < batchRows; r++) labels[r] = new AtomLabel((done + r) / sequenceLength, (int)((done + r) % sequenceLength));
            builder.Update(x, labels);
        }
        return builder.Build();
    }

    /// <summary>Encodes rows x [B, d] by K matching-pursuit steps: codes [B, n] with at most K entries per row.</summary>
    public SparseBatch Encode(ReadOnlySpan<float> x)
    {
        using var codes = EncodeCodes(x);
        var batch = new SparseBatch();
        batch.CopyFrom(codes);
        return batch;
    }

    /// <summary>x̂ [B, d] = codes·atoms for codes [B, n].</summary>
    public float[] Decode(SparseBatch codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        if (codes.Rows == 0) return [];
        using var device = new SparseCodes(Backend, codes.Rows, Math.Max(1, codes.Count));
        codes.CopyTo(device);
        return Decode(device);   // the decode checks the codes' atoms against the dictionary's size
    }

    /// <summary>Encodes host rows x [B, d] by K matching-pursuit steps into new device codes; the caller disposes them.</summary>
    internal SparseCodes EncodeCodes(ReadOnlySpan<float> x)
    {
        int b = Rows(x);
        using var xt = Backend.FromHost(x);
        using var residual = Backend.Allocate<float>(x.Length);
        var codes = new SparseCodes(Backend, b, (long)b * K);
        Backend.MatchingPursuit(xt, Atoms, K, codes, residual);
        return codes;
    }

    /// <summary>x̂ [B, d] = codes·atoms on the host.</summary>
    internal float[] Decode(SparseCodes codes)
    {
        ArgumentNullException.ThrowIfNull(codes);
        using var xhat = Backend.Allocate<float>((long)codes.Rows * InputDim);
        Backend.SparseDecode(codes, Atoms, zero, xhat);
        return Backend.ToHost(xhat);
    }

    /// <summary>Jaccard similarity |L_A ∩ L_B| / |L_A ∪ L_B| of the two dictionaries' label sets.</summary>
    public static double Jaccard(ItdaDictionary a, ItdaDictionary b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var sa = a.labels.ToHashSet();
        int inter = b.labels.Distinct().Count(sa.Contains);
        return (double)inter / (sa.Count + b.labels.Distinct().Count() - inter);
    }

    /// <summary>
    /// Writes the dictionary atomically: magic <c>SAEITDA1</c>, int32 d, n, k, float32 atoms [n, d], then per atom int64
    /// sequence and int32 token.
    /// </summary>
    public void Save(string path)
    {
        var atoms = Backend.ToHost(Atoms);
        AtomicFile.Write(path, w =>
        {
            w.Write(Magic);
            w.Write(InputDim);
            w.Write(Size);
            w.Write(K);
            foreach (float v in atoms) w.Write(v);
            foreach (var l in labels) { w.Write(l.Sequence); w.Write(l.Token); }
        });
    }

    /// <summary>
    /// Reads a dictionary onto <paramref name="backend"/> (null: <see cref="Backend.Default"/>); throws
    /// <see cref="SaeFormatException"/> naming the file and problem.
    /// </summary>
    public static ItdaDictionary Load(string path, Backend? backend = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        backend ??= Backend.Default;
        if (!File.Exists(path)) throw new FileNotFoundException($"ITDA dictionary '{path}' does not exist.", path);
        using var r = new BinaryReader(File.OpenRead(path));
        return SaeFormatException.Guard(path, () => Read(r, path, backend));
    }

    private static ItdaDictionary Read(BinaryReader r, string path, Backend backend)
    {
        long length = r.BaseStream.Length;
        if (length < Magic.Length + 12 || !r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            throw new SaeFormatException(path, "not an ITDA dictionary (missing magic SAEITDA1).", 0);
        int d = r.ReadInt32(), n = r.ReadInt32(), k = r.ReadInt32();
        long expected = Magic.Length + 12 + (long)n * d * 4 + (long)n * 12;
        if (d < 1 || n < 1 || k < 1 || k > ItdaOptions.MaxK(d) || length != expected)
            throw new SaeFormatException(path, $"the file has {length} bytes; its header (d={d}, n={n}, k={k}) needs {expected}, with d, n ≥ 1 and 1 ≤ k ≤ max(d, 64).", Magic.Length);
        var atoms = r.ReadValues<float>(DeclaredSize.ArrayLength(path, (long)n * d, "the atoms"));
        var labels = new AtomLabel[n];
        for (int i = 0; i < n; i++) labels[i] = new AtomLabel(r.ReadInt64(), r.ReadInt32());
        return new ItdaDictionary(backend, d, atoms, labels, k);
    }

    /// <summary>Frees the atoms.</summary>
    public void Dispose()
    {
        Atoms.Dispose();
        zero.Dispose();
    }

    private int Rows(ReadOnlySpan<float> x)
    {
        if (x.Length == 0 || x.Length % InputDim != 0)
            throw new ArgumentException($"Input has {x.Length} values, which is not a positive multiple of d = {InputDim}.", nameof(x));
        return x.Length / InputDim;
    }
}
