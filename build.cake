// Cake build script: dotnet tool restore && dotnet cake --target=<Build|Test|Stress|PtxCheck|Pack|Bench|Publish>
var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var ptxDir = MakeAbsolute(Directory(".tools/ptx")).FullPath;

Task("Build").Does(() =>
    DotNetBuild("SaeGpu.sln", new DotNetBuildSettings { Configuration = configuration }));

Task("Test").IsDependentOn("Build").Does(() =>
    DotNetTest("SaeGpu.sln", new DotNetTestSettings { Configuration = configuration, NoBuild = true }));

// The deep variants (many FsCheck cases, long runs): tests with [Trait("Category", "Stress")], which Test leaves out.
Task("Stress").IsDependentOn("Build").Does(() =>
    DotNetTest("SaeGpu.sln", new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        ArgumentCustomization = args => args.Append($"-p:RunSettingsFilePath={MakeAbsolute(File("Sae.Gpu.Tests/stress-tier.runsettings")).FullPath}"),
    }));

// Compiles every ILGPU kernel to PTX (via the PTX test) and assembles it with ptxas -arch=sm_90.
Task("PtxCheck").IsDependentOn("Build").Does(() =>
{
    CleanDirectory(ptxDir);
    DotNetTest("Sae.Gpu.Tests/Sae.Gpu.Tests.csproj", new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Filter = "FullyQualifiedName~PtxCompileTests",
        EnvironmentVariables = { ["SAEGPU_PTX_OUT"] = ptxDir },
    });
    var exit = StartProcess("bash", new ProcessSettings
    {
        Arguments = $"scripts/ptxas-check.sh \"{ptxDir}\"",
        EnvironmentVariables = new Dictionary<string, string> { ["PTXAS_TABLE"] = MakeAbsolute(File("artifacts/ptxas-sm90.md")).FullPath },
    });
    if (exit != 0) throw new Exception($"ptxas check failed (exit {exit})");
});

// The NuGet package into artifacts/, after checking it as a user outside the repository sees it (scripts/package-test.sh).
Task("Pack").Does(() =>
{
    var exit = StartProcess("bash", new ProcessSettings { Arguments = "scripts/package-test.sh" });
    if (exit != 0) throw new Exception($"package check failed (exit {exit})");
    // A full compile as a CI build (deterministic, paths mapped), then the package from exactly that build.
    var ci = new DotNetMSBuildSettings().WithProperty("ContinuousIntegrationBuild", "true");
    DotNetBuild("Sae.Gpu/Sae.Gpu.csproj", new DotNetBuildSettings { Configuration = "Release", NoIncremental = true, MSBuildSettings = ci });
    DotNetPack("Sae.Gpu/Sae.Gpu.csproj", new DotNetPackSettings
    {
        Configuration = "Release",
        NoBuild = true,
        OutputDirectory = "artifacts",
        MSBuildSettings = new DotNetMSBuildSettings().WithProperty("ContinuousIntegrationBuild", "true").WithProperty("BuildProjectReferences", "false"),
    });
});

Task("Bench").Does(() =>
    DotNetRun("Benchmarks/Benchmarks.csproj", new ProcessArgumentBuilder().Append("--filter *"),
        new DotNetRunSettings { Configuration = "Release" }));

// Self-contained single-file 'sae' for a CUDA machine without .NET (see scripts/device-check.sh). Built without
// 'sae extract' (SaeExtract=false): ONNX Runtime's native library (~29 MB, not bundled into the single file) would take the
// folder to ~70 MB, past the 64 MiB a device run carries. --publish-extract=true keeps the command (and the library).
var publishExtract = Argument("publish-extract", false);
Task("Publish").Does(() =>
    DotNetPublish("Sae.Cli/Sae.Cli.csproj", new DotNetPublishSettings
    {
        Configuration = "Release",
        Runtime = "linux-x64",
        SelfContained = true,
        PublishSingleFile = true,
        OutputDirectory = "publish/linux-x64",
        MSBuildSettings = new DotNetMSBuildSettings().WithProperty("EnableCompressionInSingleFile", "true")
            .WithProperty("SaeExtract", publishExtract ? "true" : "false"),
    }));

RunTarget(target);
