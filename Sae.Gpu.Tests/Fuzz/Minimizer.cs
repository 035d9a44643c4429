using System.Diagnostics;

namespace SaeGpu.Tests.Fuzz;

/// <summary>
/// Greedy delta debugging: shortens an input while a predicate (the same failure) still holds — first truncations (cutting
/// half the input, then a quarter, … one byte), then removal of chunks anywhere (half the input, a quarter, … one byte) —
/// until nothing more can go or the time budget is spent.
/// </summary>
public static class Minimizer
{
    /// <summary>The shortest variant of <paramref name="input"/> found for which <paramref name="stillFails"/> holds.</summary>
    public static byte[] Minimize(byte[] input, Func<byte[], bool> stillFails, TimeSpan budget)
    {
        var clock = Stopwatch.StartNew();
        bool InTime() => clock.Elapsed < budget;
        var best = input;
        for (int cut = best.Length / 2; cut >= 1 && InTime(); cut /= 2)
            while (cut <= best.Length && InTime() && stillFails(best[..^cut])) best = best[..^cut];
        for (int chunk = Math.Max(1, best.Length / 2); InTime(); chunk /= 2)
        {
            for (int at = 0; at < best.Length && InTime();)
            {
                byte[] candidate = [.. best.AsSpan(0, at), .. best.AsSpan(Math.Min(best.Length, at + chunk))];
                if (stillFails(candidate)) best = candidate;
                else at += chunk;
            }
            if (chunk == 1) break;
        }
        return best;
    }
}
