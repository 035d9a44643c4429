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

    /// <summary>Reads host CSR arrays and F; throws <see cref="SaeFormatException"/> naming the file and problem.</summary>
    public static (int[] Offsets, int[] Indices, float[] Values, int Latents) Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Codes file '{path}' does not exist.", path);
        using var r = new BinaryReader(File.OpenRead(path));
        return SaeFormatException.Guard(path, () => Read(r, path));
    }

    private static (int[] Offsets, int[] Indices, float[] Values, int Latents) Read(BinaryReader r, string path)
    {
        long length = r.BaseStream.Length;
        if (length < Magic.Length + 16 || !r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            throw new SaeFormatException(path, "not a sparse codes file (missing magic SAECODE1).", 0);
        int rows = r.ReadInt32(), latents = r.ReadInt32();
        long nnz = r.ReadInt64();
        if (rows < 1 || latents < 1 || nnz < 0 || nnz > Array.MaxLength)
            throw new SaeFormatException(path, $"header (rows={rows}, F={latents}, nnz={nnz}) needs rows ≥ 1, F ≥ 1 and 0 ≤ nnz ≤ {Array.MaxLength}.", Magic.Length);
        long expected = Magic.Length + 16 + 4L * (rows + 1L) + 8 * nnz;
        if (length != expected)
            throw new SaeFormatException(path, $"the file has {length} bytes; its header (rows={rows}, F={latents}, nnz={nnz}) needs {expected}.");
        var offsets = r.ReadValues<int>(rows + 1L);
        var indices = r.ReadValues<int>(nnz);
        var values = r.ReadValues<float>(nnz);
        if (!IsCsr(offsets, indices, latents))
            throw new SaeFormatException(path, $"offsets must rise from 0 to nnz = {nnz}, and each row's indices lie in [0, {latents}) in ascending order.");
        return (offsets, indices, values, latents);
    }

    private static bool IsCsr(int[] offsets, int[] indices, int latents)
    {
        int rows = offsets.Length - 1;
        if (offsets[0] != 0 || offsets[rows] != indices.Length) return false;
        for (int row = 0; row < rows; row++)
        {
            if (offsets[row + 1] < offsets[row] || offsets[row + 1] > indices.Length) return false;
            for (int p = offsets[row]; p < offsets[row + 1]; p++)
                if (indices[p] < 0 || indices[p] >= latents || (p > offsets[row] && indices[p] <= indices[p - 1])) return false;
        }
        return true;
    }
}
