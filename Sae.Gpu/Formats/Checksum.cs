using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace SaeGpu.Formats;

/// <summary>
/// The integrity check of SaeGpu's checkpoints and training states: the last 8 bytes of the file are the XxHash64 (seed 0,
/// little-endian) of every byte before them. Verified before a checksummed file is parsed, so a damaged, truncated or
/// zeroed file is refused with a <see cref="SaeFormatException"/> instead of being loaded.
/// </summary>
internal static class Checksum
{
    /// <summary>Bytes of the trailer.</summary>
    public const int Size = 8;

    /// <summary>Checks the trailer of the checksummed file <paramref name="file"/> (the stream's position is kept).</summary>
    public static void Verify(string path, FileStream file)
    {
        long length = file.Length - Size;
        if (length < 0) throw new SaeFormatException(path, $"{file.Length} bytes is too short to hold its {Size}-byte checksum.");
        Span<byte> stored = stackalloc byte[Size];
        if (RandomAccess.Read(file.SafeFileHandle, stored, length) != Size) throw new EndOfStreamException();
        ulong expected = BitConverter.ToUInt64(stored), actual = Of(file.SafeFileHandle, 0, length);
        if (expected != actual)
            throw new SaeFormatException(path, $"checksum mismatch (XxHash64 {expected:x16} stored, {actual:x16} computed): the file was damaged or changed after it was written.", length);
    }

    /// <summary>The XxHash64 of bytes [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="file"/>, read in 1 MB chunks.</summary>
    public static ulong Of(SafeFileHandle file, long start, long end)
    {
        var hash = new XxHash64();
        var buffer = new byte[(int)Math.Clamp(end - start, 1, 1 << 20)];
        for (long at = start; at < end;)
        {
            int n = RandomAccess.Read(file, buffer.AsSpan(0, (int)Math.Min(buffer.Length, end - at)), at);
            if (n == 0) throw new EndOfStreamException();
            hash.Append(buffer.AsSpan(0, n));
            at += n;
        }
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>
    /// A content fingerprint of a (possibly huge) file that costs at most about 1 MB of reads: the XxHash64 of its length,
    /// its first and last 256 KiB and 128 evenly spaced 4 KiB blocks between them (the whole file when it is smaller than
    /// that). It tells a resumed run that a data file was replaced by another of the same name and size.
    /// </summary>
    public static long Fingerprint(SafeFileHandle file)
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
