using System.Runtime.InteropServices;
using System.Text;
using SaeGpu.Compute;
using SaeGpu.Formats;

namespace SaeGpu.Training;

/// <summary>
/// The resumable state of a training run in one file: magic <c>SAESTAT3</c>, a header string (<see cref="TrainingRun"/>
/// stores the run's configs and options there as JSON), the <see cref="Trainer"/>'s state (step, weights, Adam moments
/// and step count, dead-latent and firing-frequency statistics, the architecture's state, random streams), the data
/// source's state (its random stream and read position, and for files their sizes and content fingerprints), the metrics
/// of every step so far, and last the 8-byte <see cref="Checksum"/> of everything before it. Restoring it into a trainer
/// and source built with the same settings continues the run bit for bit on a deterministic backend. Written atomically
/// (temporary file + rename), so an interrupted save keeps the previous state; a damaged or truncated file is refused
/// with a <see cref="SaeFormatException"/> naming it before anything is restored, and one that does not fit the trainer or
/// the source (their shapes, the data files' sizes and fingerprints) when the mismatch is read — the trainer and source
/// are then partly restored and must be discarded.
/// </summary>
internal static class TrainingState
{
    private static readonly byte[] Magic = "SAESTAT3"u8.ToArray();

    /// <summary>FNV-1a of <paramref name="s"/>: a name's hash for a state's shape checks, the same in every process (string.GetHashCode is not).</summary>
    public static long StableHash(string s)
    {
        ulong h = 14695981039346656037;
        foreach (char c in s) h = (h ^ c) * 1099511628211;
        return (long)h;
    }

    /// <summary>Writes <paramref name="header"/>, <paramref name="trainer"/>'s and <paramref name="source"/>'s state and <paramref name="history"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(string path, string header, Trainer trainer, IActivationSource source, TrainingHistory history)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(history);
        AtomicFile.Write(path, w =>
        {
            w.Write(Magic);
            w.Write(header);
            trainer.WriteState(w);
            source.WriteState(w);
            history.WriteState(w);
        }, checksum: true);
    }

    /// <summary>
    /// The header string of the state file <paramref name="path"/> (validates the magic; the checksum, which needs the whole
    /// file, is verified by <see cref="Restore"/>).
    /// </summary>
    public static string ReadHeader(string path)
    {
        using var r = Open(path, verify: false);
        return SaeFormatException.Guard(path, () => r.ReadBoundedString(path, "the header", MaxHeaderBytes));
    }

    /// <summary>
    /// Restores <paramref name="trainer"/> and <paramref name="source"/> (constructed with the run's settings) from
    /// <paramref name="path"/> and returns the saved metrics; throws <see cref="SaeFormatException"/> naming the file when it
    /// is not a state file, is damaged or truncated, or does not fit them.
    /// </summary>
    public static TrainingHistory Restore(string path, Trainer trainer, IActivationSource source)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(source);
        using var r = Open(path, verify: true);
        try
        {
            return SaeFormatException.Guard(path, () =>
            {
                r.ReadBoundedString(path, "the header", MaxHeaderBytes);
                trainer.ReadState(r);
                source.ReadState(r);
                var history = TrainingHistory.ReadState(r, trainer.StepsTaken);
                if (r.BaseStream.Position != r.BaseStream.Length - Checksum.Size)
                    throw new InvalidDataException($"{r.BaseStream.Length - Checksum.Size - r.BaseStream.Position} bytes left over after the state.");
                return history;
            });
        }
        catch (InvalidDataException e)
        {
            throw new SaeFormatException(path, e.Message, inner: e);
        }
    }

    private const int MaxHeaderBytes = 1 << 24;

    private static BinaryReader Open(string path, bool verify)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Training state '{path}' does not exist.", path);
        var r = new BinaryReader(File.OpenRead(path), Encoding.UTF8);
        try
        {
            var magic = new byte[Magic.Length];
            if (r.BaseStream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false) != magic.Length || !magic.AsSpan().SequenceEqual(Magic))
                throw new SaeFormatException(path, "not a SaeGpu training state of this version (missing magic SAESTAT3).", 0);
            if (verify) SaeFormatException.Guard(path, () => { Checksum.Verify(path, (FileStream)r.BaseStream); return 0; });
            return r;
        }
        catch
        {
            r.Dispose();
            throw;
        }
    }

    /// <summary>Writes the length of <paramref name="values"/> and its elements.</summary>
    internal static void WriteArray<T>(this BinaryWriter w, ReadOnlySpan<T> values) where T : unmanaged
    {
        w.Write((long)values.Length);
        w.Write(MemoryMarshal.AsBytes(values));
    }

    /// <summary>Reads an array written by <see cref="WriteArray{T}"/> into <paramref name="destination"/>, whose length it must have.</summary>
    internal static void ReadArray<T>(this BinaryReader r, Span<T> destination, string what) where T : unmanaged
    {
        long n = r.ReadInt64();
        if (n != destination.Length) throw new InvalidDataException($"{what} has {n} values saved; this run has {destination.Length}.");
        r.BaseStream.ReadExactly(MemoryMarshal.AsBytes(destination));
    }

    /// <summary>Writes a tensor's values (downloaded from <paramref name="backend"/>).</summary>
    internal static void WriteTensor(this BinaryWriter w, Backend backend, Tensor<float> t) => w.WriteArray<float>(backend.ToHost(t));

    /// <summary>Reads values written by <see cref="WriteTensor"/> into <paramref name="t"/>.</summary>
    internal static void ReadTensor(this BinaryReader r, Backend backend, Tensor<float> t, string what)
    {
        var host = new float[t.Length];
        r.ReadArray<float>(host, what);
        backend.Upload<float>(host, t);
    }

    /// <summary>Writes a generator's <paramref name="shape"/> (checked on restore) and its random stream.</summary>
    internal static void WriteStream(this BinaryWriter w, ResumableRandom rng, params (string Name, long Value)[] shape)
    {
        w.WriteShape(shape);
        rng.WriteState(w);
    }

    /// <summary>Reads what <see cref="WriteStream"/> wrote, checking the shape.</summary>
    internal static void ReadStream(this BinaryReader r, ResumableRandom rng, params (string Name, long Value)[] shape)
    {
        r.ExpectShape(shape);
        rng.ReadState(r);
    }

    /// <summary>Writes the named sizes that a restore must find unchanged.</summary>
    internal static void WriteShape(this BinaryWriter w, IEnumerable<(string Name, long Value)> shape)
    {
        foreach (var (_, value) in shape) w.Write(value);
    }

    /// <summary>Reads sizes written by <see cref="WriteShape"/>, throwing for the first that differs from <paramref name="shape"/>.</summary>
    internal static void ExpectShape(this BinaryReader r, IEnumerable<(string Name, long Value)> shape)
    {
        foreach (var (name, value) in shape) r.Expect(value, name);
    }

    /// <summary>Reads a long and checks it equals <paramref name="expected"/>.</summary>
    internal static void Expect(this BinaryReader r, long expected, string what)
    {
        long saved = r.ReadInt64();
        if (saved != expected) throw new InvalidDataException($"{what} is {saved} in the saved state but {expected} in this run.");
    }
}
