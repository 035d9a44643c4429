namespace SaeGpu.Formats;

/// <summary>Sizes a file's header declares, computed in checked 64-bit arithmetic so that a hostile header cannot overflow them.</summary>
internal static class DeclaredSize
{
    /// <summary>
    /// The bytes of a tensor of <paramref name="shape"/> with <paramref name="elementSize"/>-byte elements; throws a
    /// <see cref="SaeFormatException"/> naming <paramref name="path"/> (and <paramref name="field"/>) when a dimension is
    /// negative or the product overflows a long.
    /// </summary>
    public static long Bytes(string path, IReadOnlyList<long> shape, int elementSize, string? field = null)
    {
        if (shape.Any(n => n < 0)) throw new SaeFormatException(path, $"shape [{string.Join(", ", shape)}] has a negative dimension.", field: field);
        if (shape.Contains(0)) return 0;
        long bytes = elementSize;
        foreach (long n in shape)
        {
            try { bytes = checked(bytes * n); }
            catch (OverflowException)
            {
                throw new SaeFormatException(path, $"shape [{string.Join(", ", shape)}] needs more than 2^63 bytes.", field: field);
            }
        }
        return bytes;
    }

    /// <summary>Throws unless <paramref name="count"/> elements fit one .NET array (≤ <see cref="Array.MaxLength"/>).</summary>
    public static int ArrayLength(string path, long count, string what)
    {
        if (count < 0 || count > Array.MaxLength)
            throw new SaeFormatException(path, $"{what} has {count} elements; one array holds at most {Array.MaxLength}.");
        return (int)count;
    }

    /// <summary>
    /// A string written by <see cref="BinaryWriter.Write(string)"/> (7-bit-encoded byte length, then UTF-8) whose length must
    /// lie in [0, <paramref name="maxBytes"/>] and within the file: a garbled length fails naming <paramref name="what"/>
    /// instead of reading or allocating past the file.
    /// </summary>
    public static string ReadBoundedString(this BinaryReader r, string path, string what, int maxBytes)
    {
        long at = r.BaseStream.Position;
        int length = r.Read7BitEncodedInt();
        if (length < 0 || length > maxBytes || length > r.BaseStream.Length - r.BaseStream.Position)
            throw new SaeFormatException(path, $"{what} claims {length} bytes (at most {maxBytes}, and within the file's {r.BaseStream.Length}).", at);
        return System.Text.Encoding.UTF8.GetString(r.ReadBytes(length));
    }

    /// <summary>The next <paramref name="count"/> values of type <typeparamref name="T"/> (little-endian; the caller has checked they fit the file).</summary>
    public static T[] ReadValues<T>(this BinaryReader r, long count) where T : unmanaged
    {
        var values = new T[count];
        r.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }
}
