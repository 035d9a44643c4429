using Xunit;

namespace SaeGpu.Tests.Support;

/// <summary>Element-wise |a − e| ≤ atol + rtol·|e|; NaN never passes.</summary>
public static class Tolerance
{
    /// <summary>Asserts closeness and names the first failing element.</summary>
    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol = 1e-5, double rtol = 1e-4, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (e == a) continue; // equal infinities too
            if (!(Math.Abs(a - e) <= atol + rtol * Math.Abs(e)))
                Assert.Fail($"{what}[{i}]: expected {e:R}, got {a:R} (atol {atol}, rtol {rtol}).");
        }
    }

    /// <summary>Asserts two sparse codes have the same offsets and indices and close values (returns the first's offsets).</summary>
    public static int[] AssertSameCodes(SaeGpu.SparseCodes expected, SaeGpu.SparseCodes actual, double tolerance = 1e-5)
    {
        var (oa, ia, va) = expected.ToHost();
        var (ob, ib, vb) = actual.ToHost();
        Assert.Equal(oa, ob);
        Assert.Equal(ia, ib);
        AssertClose(va, vb, tolerance, tolerance, "values");
        return oa;
    }

    /// <summary>Same check, as a bool for FsCheck properties.</summary>
    public static bool Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double atol = 1e-5, double rtol = 1e-4)
    {
        if (expected.Length != actual.Length) return false;
        for (int i = 0; i < expected.Length; i++)
            if (!(Math.Abs((double)actual[i] - expected[i]) <= atol + rtol * Math.Abs((double)expected[i]))) return false;
        return true;
    }
}
