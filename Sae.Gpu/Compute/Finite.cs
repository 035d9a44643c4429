namespace SaeGpu.Compute;

/// <summary>The one test for NaN and ±Inf that the trainer, the checkpoint writer and the file scan share.</summary>
internal static class Finite
{
    /// <summary>Index of the first NaN or ±Inf in <paramref name="values"/>, or −1 when all are finite (vectorized).</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values) => values.IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
}
