using System.Diagnostics;
using System.IO.Hashing;
using System.Text;
using System.Text.RegularExpressions;

namespace SaeGpu.Formats;

/// <summary>
/// Atomic file writes: a temporary file <c>.NAME.PID.tmp</c> in the target's folder, flushed to disk, then renamed over the
/// target. Temporary files that an interrupted save of the same target left behind (<see cref="RemoveStale"/>) are removed
/// by the next save — of this writer, <see cref="NpyWriter"/> and <see cref="CodesWriter"/>.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/>; an interrupted write never replaces an existing file with
    /// a partial one, and the temporary file is removed on failure. With <paramref name="checksum"/>, the file ends with the
    /// <see cref="Checksum"/> of everything <paramref name="write"/> wrote.
    /// </summary>
    public static void Write(string path, Action<BinaryWriter> write, bool checksum = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        RemoveStale(full);
        string tmp = TemporaryPath(full, Environment.ProcessId);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                using (var hashing = new Checksum.HashingStream(fs))
                using (var w = new BinaryWriter(checksum ? hashing : fs, Encoding.UTF8, leaveOpen: true))
                {
                    write(w);
                    w.Flush();
                    if (checksum) fs.Write(hashing.Hash());
                }
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>
    /// The temporary file <c>.NAME.PID[.PART].tmp</c> that process <paramref name="pid"/> writes while saving
    /// <paramref name="full"/> (<paramref name="part"/>: one of several, e.g. the offsets of a codes file).
    /// </summary>
    internal static string TemporaryPath(string full, int pid, string? part = null) =>
        Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{pid}{(part is null ? "" : "." + part)}.tmp");

    /// <summary>
    /// Deletes the temporary files of <paramref name="full"/> (<see cref="TemporaryPath"/>) that an interrupted save left: those
    /// of processes that no longer run, untouched for <see cref="StaleAfter"/> (so a live writer on another host or in another
    /// process namespace, whose PID this machine cannot see, is left alone). Files it may not delete are left too.
    /// </summary>
    internal static void RemoveStale(string full)
    {
        string dir = Path.GetDirectoryName(full)!, name = Path.GetFileName(full);
        var pattern = new Regex($@"^\.{Regex.Escape(name)}\.(\d+)(\.[a-z]+)?\.tmp$", RegexOptions.CultureInvariant);
        foreach (string tmp in Directory.EnumerateFiles(dir, ".*.tmp"))
        {
            var m = pattern.Match(Path.GetFileName(tmp));
            if (!m.Success || !int.TryParse(m.Groups[1].Value, out int pid) || pid == Environment.ProcessId || IsRunning(pid)) continue;
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(tmp) < StaleAfter) continue;
            try { File.Delete(tmp); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { } // not ours to remove, or already gone
        }
    }

    /// <summary>How long a dead process's temporary file must have been untouched before a save removes it.</summary>
    internal static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(10);

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { return false; }
    }
}

/// <summary>
/// The integrity check of SaeGpu's checkpoints and training states: the last 8 bytes of the file are the XxHash64 (seed 0,
/// little-endian) of every byte before them. Verified before a checksummed file is parsed, so a damaged, truncated or
/// zeroed file is refused with a <see cref="SaeFormatException"/> instead of being loaded.
/// </summary>
internal static class Checksum
{
    /// <summary>Bytes of the trailer.</summary>
    public const int Size = 8;

    /// <summary>Checks the trailer of the checksummed file open in <paramref name="stream"/> (read from the start; the position is restored).</summary>
    public static void Verify(string path, Stream stream)
    {
        long length = stream.Length - Size, position = stream.Position;
        if (length < 0) throw new SaeFormatException(path, $"{stream.Length} bytes is too short to hold its {Size}-byte checksum.");
        var hash = new XxHash64();
        var buffer = new byte[1 << 20];
        stream.Position = 0;
        for (long done = 0; done < length;)
        {
            int n = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, length - done));
            if (n == 0) throw new EndOfStreamException();
            hash.Append(buffer.AsSpan(0, n));
            done += n;
        }
        Span<byte> stored = stackalloc byte[Size];
        stream.ReadExactly(stored);
        ulong expected = BitConverter.ToUInt64(stored), actual = hash.GetCurrentHashAsUInt64();
        if (expected != actual)
            throw new SaeFormatException(path, $"checksum mismatch (XxHash64 {expected:x16} stored, {actual:x16} computed): the file was damaged or changed after it was written.", length);
        stream.Position = position;
    }

    /// <summary>
    /// A content fingerprint of a (possibly huge) file that costs at most about 1 MB of reads: the XxHash64 of its length,
    /// its first and last 256 KiB and 128 evenly spaced 4 KiB blocks between them (the whole file when it is smaller than
    /// that). It tells a resumed run that a data file was replaced by another of the same name and size.
    /// </summary>
    public static long Fingerprint(Microsoft.Win32.SafeHandles.SafeFileHandle file)
    {
        const int Edge = 1 << 18, Block = 1 << 12, Blocks = 128;
        long length = RandomAccess.GetLength(file);
        var hash = new XxHash64();
        hash.Append(BitConverter.GetBytes(length));
        var buffer = new byte[Edge];
        void Add(long at, int bytes) => hash.Append(buffer.AsSpan(0, RandomAccess.Read(file, buffer.AsSpan(0, bytes), at)));
        if (length <= 2 * Edge + Blocks * Block)
            for (long at = 0; at < length; at += Edge) Add(at, Edge);
        else
        {
            Add(0, Edge);
            for (int i = 1; i <= Blocks; i++) Add(Edge + (length - 2 * Edge - Block) / (Blocks + 1) * i, Block);
            Add(length - Edge, Edge);
        }
        return (long)hash.GetCurrentHashAsUInt64();
    }

    /// <summary>A write-only stream that hashes what it forwards to <c>inner</c> (which it does not own).</summary>
    internal sealed class HashingStream(Stream inner) : Stream
    {
        private readonly XxHash64 hash = new();

        /// <summary>The 8-byte trailer: the XxHash64 of everything written so far, little-endian.</summary>
        public byte[] Hash() => BitConverter.GetBytes(hash.GetCurrentHashAsUInt64());

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.Append(buffer);
            inner.Write(buffer);
        }

        public override void WriteByte(byte value) => Write([value]);
    }
}
