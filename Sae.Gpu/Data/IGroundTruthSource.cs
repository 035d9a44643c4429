namespace SaeGpu.Data;

/// <summary>A source whose true feature directions are known, so recovery can be measured.</summary>
internal interface IGroundTruthSource : IActivationSource
{
    /// <summary>True feature directions [N, d], unit rows.</summary>
    float[] Directions { get; }
}
