using SaeGpu.Formats;
using SaeGpu.Training;
using SaeGpu.Compute;
using SaeGpu.Data;
using SaeGpu.Evaluation;

namespace SaeGpu;

/// <summary>Settings of <see cref="FileActivations"/>.</summary>
/// <param name="ShuffleBuffer">Rows held in the shuffle buffer (filled round-robin from all shards; each drawn row is replaced by the next row read).</param>
/// <param name="Seed">Seed of the draws.</param>
/// <param name="Normalize">Scale inputs by s = √d / mean‖x‖ (estimated on the first buffer fill); see <see cref="FileActivations.Scale"/>.</param>
/// <param name="TensorName">Safetensors: the 2-D tensor to read (null → the file's only 2-D tensor).</param>
/// <param name="SkipNonFinite">
/// Drop every row holding a NaN or ±Inf (counted when the files are opened: <see cref="FileActivations.SkippedRows"/>) instead
/// of passing it on; by default rows are passed as they are, and callers refuse bad files with <see cref="FileActivations.FindNonFinite"/>.
/// </param>
public sealed record FileActivationOptions(int ShuffleBuffer = 65536, int Seed = 0, bool Normalize = false, string? TensorName = null, bool SkipNonFinite = false);

/// <summary>
/// Activations streamed from <c>.npy</c> or safetensors files — one file, or every such file in a folder (shards, in name
/// order; <c>*.tokens.npy</c>, the token ids <c>sae extract</c> writes beside its activations, are skipped). All shards are validated when opened (format, dtype, and the same width d in each; errors name the file). A
/// shuffle buffer of rows mixes the shards: it is filled by reading chunks (at most a quarter of the buffer per shard)
/// from the shards in turn, each batch draws rows
/// from it uniformly at random (seeded), and every drawn row is replaced by the next row of the stream. The stream wraps
/// around when all shards are read (<see cref="Epoch"/> counts the passes), so files larger than memory train for any
/// number of steps with only the buffer resident.
/// </summary>
public sealed class FileActivations : IActivationSource, IDisposable, IResumable
{
    private readonly List<Shard> shards = [];
    private readonly float[] buffer;
    private readonly int rowsInBuffer;
    private readonly ResumableRandom rng;
    private readonly float[] chunk;
    private readonly int chunkCapacity;
    private readonly bool skipNonFinite;
    private int shardTurn, chunkPos, chunkRows;

    /// <summary>Opens <paramref name="path"/> (a file or a folder of shards) with <paramref name="options"/>.</summary>
    public FileActivations(string path, FileActivationOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options ??= new FileActivationOptions();
        if (options.ShuffleBuffer < 1) throw new ArgumentException($"FileActivationOptions.ShuffleBuffer must be ≥ 1, got {options.ShuffleBuffer}.");
        try
        {
            foreach (string file in ShardPaths(path)) shards.Add(Shard.Open(file, options.TensorName));
            InputDim = shards[0].Columns;
            if (shards.FirstOrDefault(s => s.Columns != InputDim) is { } odd)
                throw new SaeFormatException(odd.Path, $"has rows of {odd.Columns} values; '{shards[0].Path}' has {InputDim}.");
            skipNonFinite = options.SkipNonFinite;
            SkippedRows = skipNonFinite ? CountNonFiniteRows() : 0;
            TotalRows = shards.Sum(s => s.Rows) - SkippedRows;
            if (TotalRows == 0) throw new SaeFormatException(path, SkippedRows > 0 ? $"all {SkippedRows} rows hold NaN or ±Inf." : "holds no rows.");
        }
        catch
        {
            Dispose();
            throw;
        }
        rng = new ResumableRandom(options.Seed);
        rowsInBuffer = (int)Math.Min(options.ShuffleBuffer, TotalRows);
        chunkCapacity = Math.Clamp(rowsInBuffer / (4 * shards.Count), 1, 1024);
        chunk = new float[chunkCapacity * InputDim];
        buffer = new float[(long)rowsInBuffer * InputDim];
        for (int r = 0; r < rowsInBuffer; r++) NextRow(buffer.AsSpan(r * InputDim, InputDim));
        Scale = options.Normalize ? MathF.Sqrt(InputDim) / MeanNorm() : 1f;
    }

    /// <inheritdoc />
    public int InputDim { get; }

    /// <summary>Rows in all shards (without the skipped ones).</summary>
    public long TotalRows { get; }

    /// <summary>Rows left out because they hold a NaN or ±Inf (<see cref="FileActivationOptions.SkipNonFinite"/>; else 0).</summary>
    public long SkippedRows { get; }

    /// <summary>The shard files, in reading order.</summary>
    public IReadOnlyList<string> Files => [.. shards.Select(s => s.Path)];

    /// <summary>Rows of each file of <see cref="Files"/>, in the same order.</summary>
    public IReadOnlyList<long> FileRows => [.. shards.Select(s => s.Rows)];

    /// <summary>Where the token ids of activation file <paramref name="path"/> are (<c>sae extract</c> writes them): <c>NAME.npy</c> → <c>NAME.tokens.npy</c>.</summary>
    public static string TokensPath(string path) => Path.ChangeExtension(path, null) + ".tokens.npy";

    /// <summary>
    /// The token id of each row of <paramref name="file"/> [rows], from its <see cref="TokensPath"/> (an int32 .npy); throws
    /// <see cref="FileNotFoundException"/> or <see cref="SaeFormatException"/> naming the file when it is missing, not int32,
    /// or of another length than the file's rows.
    /// </summary>
    public int[] ReadTokenIds(string file)
    {
        int index = Files.ToList().IndexOf(file);
        if (index < 0) throw new ArgumentException($"'{file}' is not one of this source's files.", nameof(file));
        string path = TokensPath(file);
        if (!File.Exists(path)) throw new FileNotFoundException($"'{file}' has no token ids beside it ('{path}', written by sae extract).", path);
        using var npy = NpyFile.Open(path);
        var ids = npy.ReadInt32();
        if (ids.Length != shards[index].Rows) throw new SaeFormatException(path, $"holds {ids.Length} token ids; '{file}' has {shards[index].Rows} rows.");
        return ids;
    }

    /// <summary>
    /// The first NaN or ±Inf value of the files in file order, as (file, row, column, value), or null when every value is
    /// finite. Reads every file once (in chunks; the stream's position is not touched), so a run can refuse bad data before
    /// its first step.
    /// </summary>
    public (string File, long Row, int Column, float Value)? FindNonFinite()
    {
        foreach (var (s, start, part) in Scan())
            if (Finite.IndexOfNonFinite(part.Span) is var i and >= 0) return (s.Path, start + i / InputDim, i % InputDim, part.Span[i]);
        return null;
    }

    // Every file's rows in chunks of about 1 M values (one buffer, reused): (shard, first row, values).
    private IEnumerable<(Shard Shard, long Start, Memory<float> Values)> Scan()
    {
        int chunkRowsMax = Math.Max(1, (1 << 20) / InputDim);
        var values = new float[(long)chunkRowsMax * InputDim];
        foreach (var s in shards)
            for (long start = 0; start < s.Rows; start += chunkRowsMax)
            {
                var part = values.AsMemory(0, (int)Math.Min(chunkRowsMax, s.Rows - start) * InputDim);
                s.Read(start, part.Span);
                yield return (s, start, part);
            }
    }

    private long CountNonFiniteRows()
    {
        long bad = 0;
        foreach (var (_, _, values) in Scan())
            for (int r = 0; r < values.Length; r += InputDim)
                if (Finite.IndexOfNonFinite(values.Span.Slice(r, InputDim)) >= 0) bad++;
        return bad;
    }

    // Moves the finite rows of `rows` [n, d] to its front (when skipping non-finite rows); returns how many there are.
    private int KeepFinite(Span<float> rows)
    {
        int n = rows.Length / InputDim;
        if (!skipNonFinite) return n;
        int kept = 0;
        for (int r = 0; r < n; r++)
        {
            var row = rows.Slice(r * InputDim, InputDim);
            if (Finite.IndexOfNonFinite(row) >= 0) continue;
            if (kept != r) row.CopyTo(rows.Slice(kept * InputDim, InputDim));
            kept++;
        }
        return kept;
    }

    /// <summary>Rows read from the files so far (buffer fill included).</summary>
    public long RowsRead { get; private set; }

    /// <summary>
    /// Bytes of activations this object has read from the files for the shuffled stream (buffer fill included; a statistic
    /// of this process, not part of the resumable state).
    /// </summary>
    public long BytesRead { get; private set; }

    /// <summary>Completed passes over all shards.</summary>
    public long Epoch => RowsRead / TotalRows;

    /// <summary>
    /// Input scale s applied to every row (1 unless normalizing): an SAE trained on s·x serves raw x after
    /// <c>Sae.FoldInputScale(s)</c>, which SaeGpu's trainer front end applies before saving.
    /// </summary>
    public float Scale { get; }

    /// <inheritdoc />
    public void NextBatch(Span<float> destination)
    {
        if (destination.Length == 0 || destination.Length % InputDim != 0)
            throw new ArgumentException($"Destination has {destination.Length} values, not a positive multiple of d = {InputDim}.", nameof(destination));
        for (int r = 0; r < destination.Length / InputDim; r++)
        {
            var slot = buffer.AsSpan(rng.Next(rowsInBuffer) * InputDim, InputDim);
            var row = destination.Slice(r * InputDim, InputDim);
            slot.CopyTo(row);
            if (Scale != 1f) for (int i = 0; i < InputDim; i++) row[i] *= Scale;
            NextRow(slot);
        }
    }

    /// <summary>
    /// Fills <paramref name="destination"/> [n, d] with the next rows in file order (shards in name order, no shuffle, no
    /// wrap-around, scaled like the stream) from a cursor of its own; returns the number of rows written, 0 at the end.
    /// For encoding and evaluation, where row order must match the files.
    /// </summary>
    public int ReadInOrder(Span<float> destination)
    {
        int rows = 0, capacity = destination.Length / InputDim;
        while (rows < capacity && orderShard < shards.Count)
        {
            var s = shards[orderShard];
            int n = (int)Math.Min(capacity - rows, s.Rows - orderRow);
            if (n == 0) { (orderShard, orderRow) = (orderShard + 1, 0); continue; }
            var part = destination.Slice(rows * InputDim, n * InputDim);
            s.Read(orderRow, part);
            int kept = KeepFinite(part);
            if (Scale != 1f) foreach (ref float v in part[..(kept * InputDim)]) v *= Scale;
            (orderRow, rows) = (orderRow + n, rows + kept);
        }
        return rows;
    }

    private int orderShard;
    private long orderRow;

    /// <summary>
    /// The rows in file order (<see cref="ReadInOrder"/>) as batches of at most <paramref name="batchRows"/> rows, up to
    /// <paramref name="maxRows"/> rows in all; each batch is valid until the next is drawn (one buffer is reused).
    /// For <see cref="SparseAutoencoder.Evaluate(IEnumerable{ReadOnlyMemory{float}}, Action{SparseBatch}?)"/>.
    /// </summary>
    public IEnumerable<ReadOnlyMemory<float>> InOrder(int batchRows, long maxRows = long.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchRows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxRows);
        return Batches();

        IEnumerable<ReadOnlyMemory<float>> Batches()
        {
            var x = new float[(long)batchRows * InputDim];
            for (long t = 0, rows; t < maxRows && (rows = ReadInOrder(x.AsSpan(0, (int)Math.Min(batchRows, maxRows - t) * InputDim))) > 0; t += rows)
                yield return x.AsMemory(0, (int)rows * InputDim);
        }
    }

    /// <summary>
    /// Writes the stream's position: the shards' names, rows, byte sizes and content fingerprints (a sampled XxHash64, at
    /// most ~1 MB read per file) and the input scale (checked on restore, so a data file replaced since the run started is
    /// refused), the draw
    /// stream, every shard's read position, the current chunk and the shuffle buffer's rows (so the state holds
    /// ShuffleBuffer·d floats).
    /// </summary>
    public void WriteState(BinaryWriter writer)
    {
        writer.WriteShape(StateShape());
        rng.WriteState(writer);
        writer.Write(RowsRead);
        writer.Write(shardTurn);
        writer.Write(chunkPos);
        writer.Write(chunkRows);
        writer.WriteArray<long>([.. shards.Select(s => s.Position)]);
        writer.WriteArray<float>(chunk.AsSpan(0, chunkRows * InputDim));
        writer.WriteArray<float>(buffer);
    }

    /// <summary>Restores the stream's position into a source opened on the same files with the same options.</summary>
    public void ReadState(BinaryReader reader)
    {
        reader.ExpectShape(StateShape());
        rng.ReadState(reader);
        RowsRead = reader.ReadInt64();
        (shardTurn, chunkPos, chunkRows) = (reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
        if (shardTurn < 0 || shardTurn >= shards.Count || chunkRows < 0 || chunkRows > chunkCapacity || chunkPos < 0 || chunkPos > chunkRows)
            throw new InvalidDataException($"Shard cursor ({shardTurn}, {chunkPos}/{chunkRows}) does not fit {shards.Count} shards and chunks of {chunkCapacity} rows.");
        var positions = new long[shards.Count];
        reader.ReadArray<long>(positions, "Shard positions");
        for (int i = 0; i < shards.Count; i++)
            shards[i].Position = positions[i] >= 0 && positions[i] <= shards[i].Rows ? positions[i]
                : throw new InvalidDataException($"Position {positions[i]} is outside '{shards[i].Path}' ({shards[i].Rows} rows).");
        reader.ReadArray<float>(chunk.AsSpan(0, chunkRows * InputDim), "Current chunk");
        reader.ReadArray<float>(buffer, "Shuffle buffer");
    }

    // Shard names, sizes and contents, the buffer size and the input scale's bits must match the saved run.
    // Each shard's size in bytes and content fingerprint (Checksum.Fingerprint) tell a file replaced since the run started.
    private IEnumerable<(string Name, long Value)> StateShape() =>
        shards.SelectMany((s, i) => new[] { ($"Rows of shard {i} '{Path.GetFileName(s.Path)}'", s.Rows),
                ($"Name hash of shard {i} '{Path.GetFileName(s.Path)}'", TrainingState.StableHash(Path.GetFileName(s.Path))),
                ($"Size in bytes of shard {i} '{s.Path}'", s.Bytes), ($"Content fingerprint of shard {i} '{s.Path}'", s.Fingerprint) })
            .Prepend(("Number of shards", shards.Count)).Append(("Input width d", InputDim)).Append(("Shuffle buffer rows", rowsInBuffer))
            .Append(("Input scale (float bits)", BitConverter.SingleToInt32Bits(Scale))).Append(("Skips non-finite rows", skipNonFinite ? 1 : 0));

    /// <summary>Closes the files.</summary>
    public void Dispose()
    {
        foreach (var s in shards) s.Dispose();
    }

    // The next row of the stream: chunks (at most 1,024 rows, and small enough that the buffer holds several from every
    // shard) from the shards in turn, wrapping around at the end.
    private void NextRow(Span<float> row)
    {
        if (chunkPos == chunkRows) ReadChunk();
        chunk.AsSpan(chunkPos * InputDim, InputDim).CopyTo(row);
        chunkPos++;
        RowsRead++;
    }

    private void ReadChunk()
    {
        while (true)
        {
            var s = shards[shardTurn];
            shardTurn = (shardTurn + 1) % shards.Count;
            if (s.Position == s.Rows)
            {
                if (shards.All(x => x.Position == x.Rows)) foreach (var x in shards) x.Position = 0;
                continue;
            }
            int read = (int)Math.Min(chunkCapacity, s.Rows - s.Position);
            s.Read(s.Position, chunk.AsSpan(0, read * InputDim));
            s.Position += read;
            BytesRead += read * s.RowBytes;
            (chunkRows, chunkPos) = (KeepFinite(chunk.AsSpan(0, read * InputDim)), 0);
            if (chunkRows > 0) return;
        }
    }

    private float MeanNorm()
    {
        double sum = 0;
        for (int r = 0; r < rowsInBuffer; r++)
        {
            double n = 0;
            foreach (float v in buffer.AsSpan(r * InputDim, InputDim)) n += (double)v * v;
            sum += Math.Sqrt(n);
        }
        double mean = sum / rowsInBuffer;
        if (!(mean > 0)) throw new SaeFormatException(shards[0].Path, $"cannot normalize: the first {rowsInBuffer} rows have mean norm {mean}.");
        return (float)mean;
    }

    private static IEnumerable<string> ShardPaths(string path)
    {
        if (File.Exists(path)) return [path];
        if (!Directory.Exists(path)) throw new FileNotFoundException($"Activations '{path}' do not exist (expected a .npy or .safetensors file, or a folder of them).", path);
        var files = Directory.GetFiles(path)
            .Where(f => (f.EndsWith(".npy", StringComparison.OrdinalIgnoreCase) && !f.EndsWith(".tokens.npy", StringComparison.OrdinalIgnoreCase))
                        || f.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal).ToArray();
        return files.Length > 0 ? files : throw new SaeFormatException(path, "the folder holds no .npy or .safetensors files.");
    }

    /// <summary>One open shard: an .npy file or one 2-D tensor of a safetensors file.</summary>
    private sealed class Shard : IDisposable
    {
        private readonly NpyFile? npy;
        private readonly SafeTensorsFile? st;
        private readonly string tensor = "";

        private Shard(string path, NpyFile? npy, SafeTensorsFile? st, string tensor, long rows, int columns)
        {
            (Path, this.npy, this.st, this.tensor, Rows, Columns) = (path, npy, st, tensor, rows, columns);
            Fingerprint = Checksum.Fingerprint(Handle); // now, so a file replaced before the first checkpoint is caught too
        }

        public string Path { get; }

        public long Rows { get; }

        public int Columns { get; }

        public long Position { get; set; }

        public long Bytes => RandomAccess.GetLength(Handle);

        public long Fingerprint { get; }

        private Microsoft.Win32.SafeHandles.SafeFileHandle Handle => npy?.Handle ?? st!.Handle;


        public long RowBytes => (long)Columns * NpyFile.SizeOf(npy?.Type ?? st!.Get(tensor).Type);

        public static Shard Open(string path, string? tensorName)
        {
            if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            {
                var f = NpyFile.Open(path);
                if (f.Type == ElementType.Int32 || f.Dimensions != 2)
                {
                    f.Dispose();
                    throw new SaeFormatException(path, f.Type == ElementType.Int32 ? "holds int32 values, not activations."
                        : $"is a 1-D array of {f.Rows} values; activations are 2-D [rows, d].", field: "shape");
                }
                return new Shard(path, f, null, "", f.Rows, f.Columns);
            }
            var st = SafeTensorsFile.Open(path);
            try
            {
                var candidates = st.Tensors.Values.Where(t => t.Shape.Count == 2 && t.Type != ElementType.Int32).ToArray();
                var t = tensorName is not null ? st.Get(tensorName)
                    : candidates.Length == 1 ? candidates[0]
                    : throw new SaeFormatException(path, $"has {candidates.Length} 2-D float tensors ({string.Join(", ", candidates.Select(c => c.Name).Take(20))}); name one.");
                if (t.Shape.Count != 2 || t.Type == ElementType.Int32 || t.Shape[1] is < 1 or > int.MaxValue)
                    throw new SaeFormatException(path, $"tensor '{t.Name}' is {t.Type} [{string.Join(", ", t.Shape)}]; activations are float [rows, d] with 1 ≤ d < 2^31.", field: t.Name);
                return new Shard(path, null, st, t.Name, t.Shape[0], (int)t.Shape[1]);
            }
            catch
            {
                st.Dispose();
                throw;
            }
        }

        public void Read(long start, Span<float> destination)
        {
            if (npy is not null) npy.ReadRows(start, destination);
            else st!.ReadRows(tensor, start, destination);
        }

        public void Dispose()
        {
            npy?.Dispose();
            st?.Dispose();
        }
    }
}
