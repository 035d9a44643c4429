using SaeGpu.Compute;

namespace SaeGpu.Formats;

/// <summary>
/// Sparse codes on disk: magic <c>SAECODE1</c>, int32 rows B, int32 latents F, int64 nnz, then int32 offsets [B+1],
/// int32 indices [nnz] and float32 values [nnz], little-endian. Written atomically.
/// </summary>
internal static class CodesFile
{
    private static readonly byte[] Magic = "SAECODE1"u8.ToArray();

    /// <summary>Writes <paramref name="codes"/> (over <paramref name="latents"/> latents) to <paramref name="path"/>.</summary>
    public static void Save(SparseCodes codes, int latents, string path)
    {
        ArgumentNullException.ThrowIfNull(codes);
        using var writer = new CodesWriter(path, latents);
        writer.Append(codes);
        writer.Complete();
    }

    /// <summary>Writes the SAECODE1 file: header, then the offsets, indices and values streams in that order.</summary>
    internal static void Write(string path, int rows, int latents, long entries, Stream offsets, Stream indices, Stream values) =>
        AtomicFile.Write(path, w =>
        {
            w.Write(Magic);
            w.Write(rows);
            w.Write(latents);
            w.Write(entries);
            w.Flush();
            foreach (var part in new[] { offsets, indices, values })
            {
                part.Position = 0;
                part.CopyTo(w.BaseStream);
            }
        });

    /// <summary>Reads host CSR arrays and F; throws <see cref="InvalidDataException"/> naming the file and problem.</summary>
    public static (int[] Offsets, int[] Indices, float[] Values, int Latents) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Codes file '{path}' does not exist.", path);
        using var r = new BinaryReader(File.OpenRead(path));
        long length = r.BaseStream.Length;
        if (length < Magic.Length + 16 || !r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a sparse codes file (missing magic SAECODE1).");
        int rows = r.ReadInt32(), latents = r.ReadInt32();
        long nnz = r.ReadInt64(), expected = Magic.Length + 16 + 4L * (rows + 1) + 8 * nnz;
        if (rows < 1 || latents < 1 || nnz < 0 || nnz > int.MaxValue || length != expected)
            throw new InvalidDataException($"'{path}' has {length} bytes; header (rows={rows}, F={latents}, nnz={nnz}) needs {expected}.");
        var offsets = new int[rows + 1];
        for (int i = 0; i <= rows; i++) offsets[i] = r.ReadInt32();
        var indices = new int[nnz];
        for (long i = 0; i < nnz; i++) indices[i] = r.ReadInt32();
        var values = new float[nnz];
        for (long i = 0; i < nnz; i++) values[i] = r.ReadSingle();
        bool ordered = offsets[0] == 0 && offsets[rows] == nnz;
        for (int row = 0; row < rows && ordered; row++)
        {
            ordered = offsets[row + 1] >= offsets[row] && offsets[row + 1] <= nnz;
            for (int p = offsets[row]; ordered && p < offsets[row + 1]; p++)
                ordered = indices[p] >= 0 && indices[p] < latents && (p == offsets[row] || indices[p] > indices[p - 1]);
        }
        if (!ordered)
            throw new InvalidDataException($"'{path}': offsets must rise from 0 to nnz = {nnz}, and each row's indices lie in [0, {latents}) in ascending order.");
        return (offsets, indices, values, latents);
    }
}
