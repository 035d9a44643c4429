namespace SaeGpu;

/// <summary>
/// Sparse codes of a batch in CSR form on a <see cref="Backend"/>, the one structure every selection writes and decode,
/// backward and metrics read: offsets [B+1] (row b's entries are offsets[b] .. offsets[b+1]), latent index [capacity] and
/// value [capacity] of each entry; within a row, entries are in ascending latent order, and only the first offsets[B] ≤
/// <see cref="Capacity"/> entries are meaningful. Fixed-k selections need capacity B·k; batch-level selections (BatchTopK,
/// Feature Choice) bound the total instead, so a row may hold more than k. Move codes to and from the host with
/// <see cref="Upload"/> and <see cref="Download"/> (<see cref="SparseBatch"/>). Owns device memory: dispose it.
/// </summary>
public sealed class SparseCodes : IDisposable
{
    /// <summary>Allocates codes for <paramref name="rows"/> rows and up to <paramref name="capacity"/> entries in all on <paramref name="backend"/>.</summary>
    public SparseCodes(Backend backend, int rows, long capacity)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        if (capacity > int.MaxValue) throw new ArgumentOutOfRangeException(nameof(capacity), $"capacity {capacity} exceeds {int.MaxValue} entries.");
        Rows = rows;
        Capacity = (int)capacity;
        Offsets = backend.Allocate<int>(rows + 1L);
        Indices = backend.Allocate<int>(capacity);
        Values = backend.Allocate<float>(capacity);
    }

    private SparseCodes(SparseCodes source, int groups)
    {
        Rows = checked(source.Rows * groups);
        Capacity = source.Capacity;
        Offsets = source.Offsets.Owner.Allocate<int>(Rows + 1L);
        Indices = source.Indices;
        Values = source.Values;
        Source = source;
    }

    /// <summary>Codes on <paramref name="backend"/> holding host CSR arrays offsets [B+1], indices and values [nnz].</summary>
    internal static SparseCodes FromHost(Backend backend, ReadOnlySpan<int> offsets, ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (offsets.Length < 2 || offsets[0] != 0 || offsets[^1] != indices.Length || values.Length != indices.Length)
            throw new ArgumentException($"CSR arrays do not fit: offsets [{offsets.Length}] must start at 0 and end at nnz = indices [{indices.Length}] = values [{values.Length}].");
        var codes = new SparseCodes(backend, offsets.Length - 1, Math.Max(1, indices.Length));
        backend.Upload(offsets, codes.Offsets);
        codes.LatentBound = SparseBatch.LatentBoundOf(indices);
        if (indices.Length == 0) return codes;
        backend.Upload(indices, codes.Indices);
        backend.Upload(values, codes.Values);
        return codes;
    }

    /// <summary>The codes this is a group view of (<see cref="GroupView"/>), else null.</summary>
    internal SparseCodes? Source { get; }

    /// <summary>
    /// A view with B·<paramref name="groups"/> rows sharing these codes' indices and values: row b·n + g holds row b's
    /// entries of latent group g (contiguous, since rows are in latent order). Its own offsets [B·n + 1] are written by
    /// <see cref="Backend.PrefixLoss"/>. Disposing the view frees only those offsets.
    /// </summary>
    internal SparseCodes GroupView(int groups)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(groups);
        return new SparseCodes(this, groups);
    }

    /// <summary>Number of rows B.</summary>
    public int Rows { get; }

    /// <summary>Entries the codes can hold in all (B·k for TopK).</summary>
    public int Capacity { get; }

    /// <summary>Row offsets [B+1].</summary>
    internal Tensor<int> Offsets { get; }

    /// <summary>Latent index per entry [Capacity].</summary>
    internal Tensor<int> Indices { get; }

    /// <summary>Activation per entry [Capacity].</summary>
    internal Tensor<float> Values { get; }

    /// <summary>The number of stored entries, offsets[B] (one int read back).</summary>
    internal int StoredEntries()
    {
        Span<int> count = stackalloc int[1];
        Offsets.Owner.Download(Offsets, count, Rows);
        return count[0];
    }

    /// <summary>Copies the codes to host arrays: offsets [B+1], indices and values [nnz] (only the stored entries move).</summary>
    internal (int[] Offsets, int[] Indices, float[] Values) ToHost()
    {
        var backend = Offsets.Owner;
        var offsets = new int[Rows + 1];
        backend.Download(Offsets, offsets);
        int nnz = offsets[Rows];
        var idx = new int[nnz];
        var val = new float[nnz];
        if (nnz > 0)
        {
            backend.Download(Indices, idx, 0);
            backend.Download(Values, val, 0);
        }
        return (offsets, idx, val);
    }

    /// <summary>
    /// An exclusive bound on the latent indices these codes hold: the F of the op that wrote them (an op's codes index the
    /// latents of the matrix it selected from), or the largest index + 1 of codes copied from the host; 0 while they hold
    /// nothing. Ops that read a row per entry (decode, gradients, aggregation) throw when it exceeds their F.
    /// </summary>
    internal long LatentBound { get; set; }

    /// <summary>
    /// Copies host codes into these device codes, which must have as many rows and room for its entries; throws
    /// <see cref="ArgumentException"/> otherwise.
    /// </summary>
    public void Upload(SparseBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Source is not null) throw new InvalidOperationException("A group view shares its source's entries; upload into the source.");
        if (batch.Rows != Rows) throw new ArgumentException($"batch has {batch.Rows} rows; these codes have {Rows}.", nameof(batch));
        if (batch.Count > Capacity) throw new ArgumentException($"batch holds {batch.Count} entries; these codes hold at most {Capacity}.", nameof(batch));
        batch.CopyTo(this);
    }

    /// <summary>Copies these codes into the host batch <paramref name="destination"/> (overwritten, grown when needed).</summary>
    public void Download(SparseBatch destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.CopyFrom(this);
    }

    /// <summary>Frees the three buffers (only the offsets of a group view).</summary>
    public void Dispose()
    {
        Offsets.Dispose();
        if (Source is not null) return;
        Indices.Dispose();
        Values.Dispose();
    }
}
