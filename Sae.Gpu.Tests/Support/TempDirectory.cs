namespace SaeGpu.Tests.Support;

/// <summary>Base for test classes that need a scratch folder, deleted after each test.</summary>
public abstract class TempDirectory : IDisposable
{
    /// <summary>The folder.</summary>
    protected string Dir { get; } = Directory.CreateTempSubdirectory("saegpu-test").FullName;

    /// <summary>Deletes the folder.</summary>
    public void Dispose()
    {
        Directory.Delete(Dir, recursive: true);
        GC.SuppressFinalize(this);
    }
}
