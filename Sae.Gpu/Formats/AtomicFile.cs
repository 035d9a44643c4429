using System.Diagnostics;
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
