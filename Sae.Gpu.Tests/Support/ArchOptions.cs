using SaeGpu.Training;

namespace SaeGpu.Tests.Support;

/// <summary>Architecture options for tests that run one configuration across architectures.</summary>
public static class ArchOptions
{
    /// <summary>Those of <paramref name="options"/> that architecture <paramref name="arch"/> has; null when none.</summary>
    public static IReadOnlyDictionary<string, double>? For(string arch, params (string Name, double Value)[] options)
    {
        var names = TrainConfig.OptionsOf(arch).Select(o => o.Name).ToHashSet();
        var own = options.Where(o => names.Contains(o.Name)).ToDictionary(o => o.Name, o => o.Value);
        return own.Count == 0 ? null : own;
    }
}
