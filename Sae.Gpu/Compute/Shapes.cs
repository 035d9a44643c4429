namespace SaeGpu.Compute;

/// <summary>
/// Argument checks shared by every <see cref="Backend"/> op, on lengths only, so tensor and span entry points validate alike
/// before any memory is touched. Each throws <see cref="ArgumentException"/> whose ParamName is the offending argument and
/// whose message names it with the shape it should have.
/// </summary>
internal static class Shapes
{
    /// <summary>Throws unless <paramref name="length"/> = <paramref name="expected"/> (the shape <paramref name="shape"/>).</summary>
    public static void Length(long length, long expected, string name, string shape)
    {
        if (length != expected)
            throw new ArgumentException($"{name} has {length} elements; it must be {shape} = {expected}.", name);
    }

    /// <summary>Throws unless <paramref name="length"/> ≥ <paramref name="minimum"/>.</summary>
    public static void AtLeast(long length, long minimum, string name, string what)
    {
        if (length < minimum)
            throw new ArgumentException($"{name} has {length} elements; it needs at least {what} = {minimum}.", name);
    }

    /// <summary>The row count n of a [n, <paramref name="width"/>] matrix of <paramref name="length"/> elements (n ≥ 1); throws otherwise.</summary>
    public static int Rows(long length, long width, string name, string shape)
    {
        if (width < 1 || length < width || length % width != 0 || length / width > int.MaxValue)
            throw new ArgumentException($"{name} has {length} elements, which is not a whole {shape} matrix with {width} columns.", name);
        return (int)(length / width);
    }

    /// <summary>The width d of a [<paramref name="rows"/>, d] matrix of <paramref name="length"/> elements (d ≥ 1); throws otherwise.</summary>
    public static int Width(long length, int rows, string name, string shape)
    {
        if (rows < 1 || length < rows || length % rows != 0 || length / rows > int.MaxValue)
            throw new ArgumentException($"{name} has {length} elements, which is not a whole {shape} matrix with {rows} rows.", name);
        return (int)(length / rows);
    }

    /// <summary>
    /// Checks a per-entry buffer: exactly <paramref name="entries"/> long for host codes (<paramref name="exact"/>: [nnz]),
    /// at least <paramref name="entries"/> for device codes (their capacity).
    /// </summary>
    public static void Entries(long length, long entries, bool exact, string name)
    {
        if (exact) Length(length, entries, name, "[nnz]");
        else AtLeast(length, entries, name, "the codes' capacity");
    }

    /// <summary>Throws unless the vector <paramref name="name"/> is non-empty (its length defines a dimension).</summary>
    public static int Positive(long length, string name, string dimension)
    {
        if (length < 1 || length > int.MaxValue)
            throw new ArgumentException($"{name} has {length} elements; its length is {dimension}, which must be ≥ 1.", name);
        return (int)length;
    }
}
