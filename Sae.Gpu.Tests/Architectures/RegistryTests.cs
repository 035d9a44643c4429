using SaeGpu.Architectures;
using Xunit;

namespace SaeGpu.Tests.Architectures;

/// <summary>The architecture registry: every strategy is found, named once, and fully described.</summary>
public class RegistryTests
{
    [Fact]
    public void EveryArchitecture_IsFound_WithALowerCaseName()
    {
        var all = ArchitectureRegistry.All;
        Assert.True(all.Count >= 13);
        Assert.All(all, a => Assert.Matches("^[a-z][a-z0-9-]*$", a.Name));
    }

    [Fact]
    public void EachSaeLensName_LoadsAsExactlyOneArchitecture()
    {
        foreach (var group in ArchitectureRegistry.All.GroupBy(a => a.SaeLens.Architecture))
            Assert.Single(group, a => a.SaeLens.LoadsAs);
    }

    [Fact]
    public void EveryOption_HasAUniqueName_AndAValidDefault()
    {
        foreach (var arch in ArchitectureRegistry.All)
        {
            Assert.Equal(arch.Options.Count, arch.Options.Select(o => o.Name).Distinct().Count());
            foreach (var option in arch.Options)
            {
                option.Validate(option.Default, arch.Name);
                Assert.False(string.IsNullOrWhiteSpace(option.Description), $"{arch.Name} {option.Name}");
            }
            var allDefaults = arch.Options.ToDictionary(o => o.Name, o => o.Default);
            new TrainConfig(ArchitectureOptions: allDefaults).Validate(new SaeConfig(4, 8, 2, arch.Name));
        }
    }

    [Fact]
    public void Get_ThrowsListingTheNames() =>
        Assert.Contains("topk", Assert.Throws<ArgumentException>(() => ArchitectureRegistry.Get("nope")).Message);
}
