using System.Reflection;

namespace SaeGpu.Kernels;

/// <summary>Every ILGPU kernel entry point in this assembly, for PTX compilation checks and tooling.</summary>
internal static class KernelCatalog
{
    /// <summary>One kernel: a display name, its method, and whether it is explicitly grouped (launched with a KernelConfig).</summary>
    /// <param name="Name">Op and version, e.g. <c>Encode.GpuV1</c>.</param>
    /// <param name="Method">The static kernel method.</param>
    /// <param name="ExplicitlyGrouped">True for kernels that use groups, shared memory or warp intrinsics.</param>
    public sealed record Entry(string Name, MethodInfo Method, bool ExplicitlyGrouped);

    /// <summary>All kernels: public static methods named Gpu*V&lt;n&gt; on the op classes; implicit ones take an Index1D first.</summary>
    public static IReadOnlyList<Entry> All { get; } = typeof(KernelCatalog).Assembly.GetTypes()
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static).Select(m => (t, m)))
        .Where(x => x.m.Name.StartsWith("Gpu", StringComparison.Ordinal) && x.m.ReturnType == typeof(void)
                    && char.IsDigit(x.m.Name[^1]))
        .Select(x => new Entry($"{x.t.Name}.{x.m.Name}", x.m,
            x.m.GetParameters() is var ps && (ps.Length == 0 || ps[0].ParameterType.Name != "Index1D")))
        .OrderBy(e => e.Name, StringComparer.Ordinal)
        .ToArray();
}
