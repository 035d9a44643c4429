using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
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
        Assert.True(all.Count >= 12);
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
    public void MutualChoice_IsAnAliasOfBatchTopK_AndNotListed()
    {
        Assert.Same(ArchitectureRegistry.Get("batchtopk"), ArchitectureRegistry.Get("mutual-choice"));
        Assert.DoesNotContain("mutual-choice", SaeConfig.Architectures);
        Assert.Equal("batchtopk", SaeConfig.ArchitectureAliases["mutual-choice"]);
        Assert.Equal("mutual-choice", new SaeConfig(4, 8, 2, "Mutual-Choice").Validate().Architecture);
    }

    [Property(MaxTest = 200)]
    public Property FeatureChoice_ZipfBudgets_SumToTheBudget_WithinOneAndB_NonIncreasing() =>
        Prop.ForAll(Gen.Choose(1, 300).Zip(Gen.Choose(1, 40)).ToArbitrary(), Gen.Choose(1, 200).Zip(Gen.Choose(0, 30)).ToArbitrary(),
            (fk, ba) =>
            {
                var ((latents, k), (rows, alphaTenths)) = (fk, ba);
                double alpha = alphaTenths / 10.0;
                var m = FeatureChoiceArchitecture.ZipfBudgets(latents, k, rows, alpha);
                Assert.Equal(Math.Clamp((long)k * rows, latents, (long)latents * rows), m.Sum(v => (long)v));
                Assert.All(m, v => Assert.InRange(v, 1, rows));
                Assert.All(m.Zip(m.Skip(1)), p => Assert.True(p.First >= p.Second));
                if (alpha == 0) Assert.InRange(m[0] - m[^1], 0, 1);
            });

    [Fact]
    public void FeatureChoice_ZipfBudgets_FollowTheLaw()
    {
        // F 512, k 8, B 1024, α = 1: m_j ≈ λ/(j + 1), capped at B for the first latent.
        var m = FeatureChoiceArchitecture.ZipfBudgets(512, 8, 1024, 1);
        Assert.Equal(1024, m[0]);
        Assert.InRange((double)m[9] / m[99], 9, 11.5);
    }

    [Fact]
    public void Get_ThrowsListingTheNames() =>
        Assert.Contains("topk", Assert.Throws<ArgumentException>(() => ArchitectureRegistry.Get("nope")).Message);
}
