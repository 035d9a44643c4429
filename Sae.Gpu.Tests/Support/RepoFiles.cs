namespace SaeGpu.Tests.Support;

/// <summary>Files of the repository the tests run from (found as the folder above the test binaries that holds SaeGpu.sln).</summary>
public static class RepoFiles
{
    /// <summary>The full path of <paramref name="relative"/> (e.g. <c>docs/cli.md</c>) in the repository.</summary>
    public static string Path(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "SaeGpu.sln"))) return System.IO.Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException($"No SaeGpu.sln above {AppContext.BaseDirectory}.");
    }
}
