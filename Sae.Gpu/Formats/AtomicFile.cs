using System.Text;

namespace SaeGpu.Formats;

/// <summary>Atomic file writes: a temporary file in the target's folder, flushed to disk, then renamed over the target.</summary>
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/>; an interrupted write never replaces an existing file with
    /// a partial one, and the temporary file is removed on failure.
    /// </summary>
    public static void Write(string path, Action<BinaryWriter> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var w = new BinaryWriter(fs, Encoding.UTF8, leaveOpen: false))
            {
                write(w);
                w.Flush();
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}
