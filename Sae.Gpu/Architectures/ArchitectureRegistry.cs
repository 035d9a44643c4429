namespace SaeGpu.Architectures;

/// <summary>
/// Every <see cref="Architecture"/> in this assembly, found by reflection (a non-abstract subclass with a parameterless
/// constructor is registered by existing), in <see cref="Architecture.Order"/>. Names and orders must be unique.
/// </summary>
internal static class ArchitectureRegistry
{
    /// <summary>All architectures in listing order.</summary>
    public static IReadOnlyList<Architecture> All { get; } = Discover();

    /// <summary>Their names in listing order.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. All.Select(a => a.Name)];

    /// <summary>The architecture called <paramref name="name"/> (case and surrounding spaces ignored); throws <see cref="ArgumentException"/> listing the valid names.</summary>
    public static Architecture Get(string name) =>
        Find(name) ?? throw new ArgumentException($"Unknown architecture '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name));

    /// <summary>The architecture called <paramref name="name"/>, or null.</summary>
    public static Architecture? Find(string? name)
    {
        string key = (name ?? "").Trim().ToLowerInvariant();
        return All.FirstOrDefault(a => a.Name == key || a.Aliases.Contains(key));
    }

    /// <summary>The architecture a plain SAELens folder with cfg <c>architecture</c> = <paramref name="saeLens"/> loads as, or null.</summary>
    public static Architecture? FromSaeLens(string saeLens) => All.FirstOrDefault(a => a.SaeLens.LoadsAs && a.SaeLens.Architecture == saeLens);

    private static Architecture[] Discover()
    {
        var found = typeof(Architecture).Assembly.GetTypes()
            .Where(t => t.IsSubclassOf(typeof(Architecture)) && !t.IsAbstract)
            .Select(t => (Architecture)Activator.CreateInstance(t, nonPublic: true)!)
            .OrderBy(a => a.Order)
            .ToArray();
        if (found.SelectMany(a => a.Aliases.Prepend(a.Name)).GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } dup)
            throw new InvalidOperationException($"Two architectures are named '{dup.Key}'.");
        if (found.GroupBy(a => a.Order).FirstOrDefault(g => g.Count() > 1) is { } order)
            throw new InvalidOperationException($"Architectures {string.Join(" and ", order)} share Order {order.Key}.");
        return found;
    }
}
