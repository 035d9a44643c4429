using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using SaeGpu.Kernels;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// Every ILGPU kernel compiles to PTX with ILGPU's PTX backend for SM_90 at ISA 7.8 (what ptxas from CUDA 11.8 accepts), without a GPU.
/// When SAEGPU_PTX_OUT is set, each kernel's PTX is written there as &lt;Op&gt;.&lt;Kernel&gt;.ptx for ptxas (CI does this).
/// </summary>
public class PtxCompileTests
{
    public static TheoryData<string> KernelNames() => [.. KernelCatalog.All.Select(k => k.Name)];

    [Fact]
    public void Catalog_ListsEveryKernel()
    {
        string[] expected =
        [
            "AfaLossGrad.GpuV1", "AggregateByLatent.GpuBiasV1", "AggregateByLatent.GpuFillV1", "AggregateByLatent.GpuHistogramV1", "AggregateByLatent.GpuSortV1", "AggregateByLatent.GpuSumV1",
            "Adam.GpuV1", "Axpy.GpuV1", "BatchTopKThreshold.GpuCountAtLeastV1", "BatchTopKThreshold.GpuCountTiesV1", "ColumnMax.GpuV1", "ColumnTopKThreshold.GpuV1",
            "DecoderBiasGrad.GpuReduceV1", "DecoderBiasGrad.GpuV1", "Encode.GpuV1", "ExclusiveScan.GpuV1", "GatherCodes.GpuV1", "GradientScore.GpuV1", "JumpReluThresholdGrad.GpuV1", "MaskLatents.GpuV1", "MatchingPursuit.GpuStepV1", "NormalizeRows.GpuV1", "PrefixLoss.GpuV1",
            "ReconstructionError.GpuV1", "RemoveParallelGrad.GpuV1", "RowDot.GpuV1", "RowNorm.GpuV1", "ScaleColumns.GpuV1", "ScaleLatents.GpuV1", "SparseDecode.GpuV1",
            "TanhPenaltyGrad.GpuV1", "ThresholdSelect.GpuCountV1", "ThresholdSelect.GpuFillV1", "TopK.GpuCompactV1", "TopK.GpuSelectV1", "TopK.GpuSelectV2",
            "ValueGrad.GpuV1",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), KernelCatalog.All.Select(k => k.Name));
    }

    [Theory]
    [MemberData(nameof(KernelNames))]
    public void Kernel_CompilesToPtx_ForSm90(string name)
    {
        var kernel = KernelCatalog.All.Single(k => k.Name == name);
        using var context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2).EnableAlgorithms());
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90,
            CudaInstructionSet.ISA_78, null);
        var entry = kernel.ExplicitlyGrouped
            ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel.Method)
            : EntryPointDescription.FromImplicitlyGroupedKernel(kernel.Method);
        var compiled = (PTXCompiledKernel)backend.Compile(entry, new KernelSpecialization());
        if (Environment.GetEnvironmentVariable("SAEGPU_PTX_OUT") is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, name + ".ptx"), compiled.PTXAssembly);
        }
        // ILGPU 1.5.3 writes ".target sm_80" for SM_90 at ISA 7.8; ptxas -arch=sm_90 assembles it (CI checks that).
        Assert.Matches(@"\.target\s+sm_\d+", compiled.PTXAssembly);
        Assert.Matches(@"\.version\s+7\.8\b", compiled.PTXAssembly);
        Assert.Contains(".entry", compiled.PTXAssembly, StringComparison.Ordinal);
    }
}
