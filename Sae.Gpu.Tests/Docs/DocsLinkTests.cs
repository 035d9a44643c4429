using System.Text;
using System.Text.RegularExpressions;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Docs;

/// <summary>Every relative link in README.md and docs/ resolves: the file exists and a #anchor names one of its headings (GitHub's slugs).</summary>
public partial class DocsLinkTests
{
    public static TheoryData<string> Pages()
    {
        var pages = new TheoryData<string> { "README.md" };
        string docs = RepoFiles.Path("docs");
        foreach (string f in Directory.GetFiles(docs, "*.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            pages.Add(Path.GetRelativePath(RepoFiles.Path("."), f).Replace('\\', '/'));
        return pages;
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void EveryRelativeLink_Resolves(string page)
    {
        string path = RepoFiles.Path(page);
        var broken = new List<string>();
        foreach (Match m in LinkPattern().Matches(WithoutCode(File.ReadAllText(path))))
        {
            string target = m.Groups["target"].Value;
            if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal)) continue;
            int hash = target.IndexOf('#');
            string file = hash < 0 ? target : target[..hash], anchor = hash < 0 ? "" : target[(hash + 1)..];
            string resolved = file.Length == 0 ? path : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, Uri.UnescapeDataString(file)));
            if (!File.Exists(resolved) && !Directory.Exists(resolved)) broken.Add($"{target} (no such file)");
            else if (anchor.Length > 0 && !(resolved.EndsWith(".md", StringComparison.Ordinal) && Anchors(File.ReadAllText(resolved)).Contains(anchor)))
                broken.Add($"{target} (no heading with that anchor)");
        }
        Assert.True(broken.Count == 0, $"{page}: broken links: {string.Join("; ", broken)}");
    }

    [Fact]
    public void Anchors_FollowGitHubsSlugs() =>
        Assert.Equal(["c-library", "long-runs-checkpoints-resume-progress-and-plots", "sae-train", "sae-train-1"],
            Anchors("# C# library\n## Long runs: checkpoints, resume, progress and plots\n### `sae train`\n### sae train\n"));

    // GitHub's heading anchors: lower case, punctuation other than '-' and '_' dropped, spaces to '-', repeats numbered.
    private static HashSet<string> Anchors(string markdown)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match h in HeadingPattern().Matches(WithoutCode(markdown)))
        {
            var slug = new StringBuilder();
            foreach (char c in h.Groups["text"].Value.Trim().ToLowerInvariant())
                if (char.IsLetterOrDigit(c) || c is '-' or '_') slug.Append(c);
                else if (c == ' ') slug.Append('-');
            string s = slug.ToString(), unique = s;
            for (int n = 1; !anchors.Add(unique); n++) unique = $"{s}-{n}";
        }
        return anchors;
    }

    private static string WithoutCode(string markdown) => FencePattern().Replace(markdown, "");

    [GeneratedRegex(@"^```.*?^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex FencePattern();

    [GeneratedRegex(@"^#{1,6}[ \t]+(?<text>.+?)[ \t]*#*$", RegexOptions.Multiline)]
    private static partial Regex HeadingPattern();

    [GeneratedRegex(@"\]\((?<target>[^)\s]+)(?:\s+""[^""]*"")?\)")]
    private static partial Regex LinkPattern();
}
