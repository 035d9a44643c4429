using SaeGpu.Compute;

namespace SaeGpu;

/// <summary>
/// The sparse codes of a batch in host memory, in CSR form: <see cref="Offsets"/> [B+1] (row b's entries are
/// Offsets[b] .. Offsets[b+1]), <see cref="Indices"/> [nnz] (the latent of each entry) and <see cref="Values"/> [nnz] (its
/// activation); within a row, entries are in ascending latent order. A batch is reusable: <see cref="SparseAutoencoder.Encode(ReadOnlySpan{float}, SparseBatch)"/>
/// overwrites it, growing its arrays only when a batch needs more room, so encoding batch after batch into one
/// <see cref="SparseBatch"/> does not allocate once the largest batch has been seen.
/// </summary>
public sealed class SparseBatch
{
    private int[] offsets = [0];
    private int[] indices = [];
    private float[] values = [];

    /// <summary>An empty batch (0 rows), to be filled by <see cref="SparseAutoencoder.Encode(ReadOnlySpan{float}, SparseBatch)"/>.</summary>
    public SparseBatch() { }

    /// <summary>
    /// A batch holding copies of CSR arrays: <paramref name="offsets"/> [B+1] starting at 0, non-decreasing and ending at
    /// nnz = <paramref name="indices"/>.Length = <paramref name="values"/>.Length; latent indices ≥ 0 and ascending within
    /// each row. Throws <see cref="ArgumentException"/> naming the first array that breaks this.
    /// </summary>
    public SparseBatch(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        Validate(offsets, indices, values);
        Rows = offsets.Length - 1;
        this.offsets = offsets.ToArray();
        this.indices = indices.ToArray();
        this.values = values.ToArray();
    }

    /// <summary>Number of rows B.</summary>
    public int Rows { get; private set; }

    /// <summary>Number of entries nnz in all rows.</summary>
    public int Count => offsets[Rows];

    /// <summary>Row offsets [B+1].</summary>
    public ReadOnlySpan<int> Offsets => offsets.AsSpan(0, Rows + 1);

    /// <summary>Latent index of each entry [nnz].</summary>
    public ReadOnlySpan<int> Indices => indices.AsSpan(0, Count);

    /// <summary>Activation of each entry [nnz].</summary>
    public ReadOnlySpan<float> Values => values.AsSpan(0, Count);

    /// <summary>The latent indices of row <paramref name="row"/>, ascending.</summary>
    public ReadOnlySpan<int> RowIndices(int row) => indices.AsSpan(RowStart(row), RowLength(row));

    /// <summary>The activations of row <paramref name="row"/>, in the order of <see cref="RowIndices"/>.</summary>
    public ReadOnlySpan<float> RowValues(int row) => values.AsSpan(RowStart(row), RowLength(row));

    /// <summary>Writes the codes as a dense matrix [B, F] (zeros where no entry) into <paramref name="destination"/>.</summary>
    public void ToDense(int latents, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(latents);
        if (destination.Length != (long)Rows * latents)
            throw new ArgumentException($"destination has {destination.Length} values; the dense codes [B = {Rows}, F = {latents}] need {(long)Rows * latents}.", nameof(destination));
        destination.Clear();
        for (int r = 0; r < Rows; r++)
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
            {
                if ((uint)indices[p] >= (uint)latents)
                    throw new ArgumentOutOfRangeException(nameof(latents), $"Entry {p} has latent {indices[p]}, outside F = {latents}.");
                destination[r * latents + indices[p]] = values[p];
            }
    }

    /// <summary>Copies device codes into this batch (growing its arrays when needed): the offsets, then only the stored entries.</summary>
    internal void CopyFrom(SparseCodes codes)
    {
        var backend = codes.Offsets.Owner;
        Reserve(codes.Rows, 0);
        backend.Download(codes.Offsets, offsets.AsSpan(0, codes.Rows + 1));
        Rows = codes.Rows;
        int count = offsets[Rows];
        Reserve(Rows, count);
        if (count == 0) return;
        backend.Download(codes.Indices, indices.AsSpan(0, count), 0);
        backend.Download(codes.Values, values.AsSpan(0, count), 0);
    }

    /// <summary>
    /// Copies this batch into device codes of the same rows and at least <see cref="Count"/> capacity, and records its
    /// <see cref="SparseCodes.LatentBound"/> (ops that read the codes check their indices against their F with it).
    /// </summary>
    internal void CopyTo(SparseCodes codes)
    {
        var backend = codes.Offsets.Owner;
        if (codes.Rows != Rows || codes.Capacity < Count)
            throw new ArgumentException($"Device codes of {codes.Rows} rows and {codes.Capacity} entries cannot hold a batch of {Rows} rows and {Count} entries.");
        backend.Upload<int>(Offsets, codes.Offsets);
        backend.Upload<int>(Indices, codes.Indices, 0);
        backend.Upload<float>(Values, codes.Values, 0);
        codes.LatentBound = LatentBoundOf(Indices);
    }

    /// <summary>The largest of <paramref name="indices"/> + 1 (0 when empty): the smallest F these latent indices fit.</summary>
    internal static long LatentBoundOf(ReadOnlySpan<int> indices)
    {
        long bound = 0;
        foreach (int j in indices) bound = Math.Max(bound, j + 1L);
        return bound;
    }

    private void Reserve(int rows, int capacity)
    {
        if (offsets.Length < rows + 1) offsets = new int[rows + 1];
        if (indices.Length < capacity) (indices, values) = (new int[capacity], new float[capacity]);
    }

    private int RowStart(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Rows);
        return offsets[row];
    }

    private int RowLength(int row) => offsets[row + 1] - offsets[row];

    private static void Validate(ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        if (offsets.Length < 1 || offsets[0] != 0)
            throw new ArgumentException($"offsets must hold B + 1 ≥ 1 values starting at 0; got {offsets.Length} values.", nameof(offsets));
        if (offsets[^1] != indices.Length)
            throw new ArgumentException($"offsets end at {offsets[^1]} but indices holds {indices.Length} entries.", nameof(indices));
        if (values.Length != indices.Length)
            throw new ArgumentException($"values holds {values.Length} entries but indices holds {indices.Length}.", nameof(values));
        for (int r = 0; r + 1 < offsets.Length; r++)
        {
            if (offsets[r + 1] < offsets[r])
                throw new ArgumentException($"offsets decrease at row {r}: {offsets[r]} → {offsets[r + 1]}.", nameof(offsets));
            for (int p = offsets[r]; p < offsets[r + 1]; p++)
                if (indices[p] < 0 || (p > offsets[r] && indices[p] <= indices[p - 1]))
                    throw new ArgumentException($"indices of row {r} must be ≥ 0 and strictly ascending; entry {p} is {indices[p]}.", nameof(indices));
        }
    }
}
