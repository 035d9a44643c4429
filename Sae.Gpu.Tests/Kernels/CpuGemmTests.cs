using FsCheck;
using FsCheck.Fluent;
using SaeGpu.Kernels;
using Xunit;

namespace SaeGpu.Tests.Kernels;

/// <summary>
/// CpuGemm's register blocks agree bit for bit: the 8×4 Vector512 block (two rows' 8-lane chains per register, used
/// where the CPU has AVX-512) and the 4×4 Vector256 block, and both with <see cref="CpuGemm.Pre"/> and
/// <see cref="CpuGemm.PreList"/> — so results do not depend on the CPU, and the int8 screen's exact values (PreList) equal
/// the unscreened tiles'. Generated shapes: d with and without a tail past whole 8-float chunks, odd row counts, tiles
/// that start past row 0, latent subsets, magnitudes from 2⁻²⁰ to 2²⁰.
/// </summary>
public class CpuGemmTests
{
    [Fact]
    public unsafe void Block8_EqualsBlock_Pre_AndPreList_BitForBit()
    {
        if (!CpuGemm.Wide) Assert.Skip("no AVX-512 on this CPU: only the Vector256 block runs here");
        Prop.ForAll(Gen.Elements(1, 7, 8, 9, 31, 64, 100, 384, 771).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (d, seed) =>
        {
            var rng = new Random(seed);
            int b = rng.Next(1, 40), f = rng.Next(1, 40), r0 = rng.Next(b) / 2 * 2, c0 = rng.Next(f);
            float scale = MathF.ScaleB(1, rng.Next(-20, 21));
            float[] x = Values(rng, b * d, scale), w = Values(rng, f * d, 1), bias = Values(rng, f, 1);
            int[] map = [.. Enumerable.Range(0, f).OrderBy(_ => rng.Next())];
            var (wide, narrow) = (new float[(b - r0) * (f - c0)], new float[(b - r0) * (f - c0)]);
            var list = new float[f - c0];
            float* pairs = CpuGemm.AllocPairs(x, b, d);
            try
            {
                fixed (float* px = x) fixed (float* pw = w) fixed (float* pb = bias) fixed (int* pm = map)
                fixed (float* pwide = wide) fixed (float* pnarrow = narrow) fixed (float* pl = list)
                {
                    int* latents = rng.Next(2) == 0 ? null : pm;
                    new CpuGemm(px, pw, pb, d, latents, pairs).Tile(r0, b, c0, f, pwide, f - c0);
                    var gemm = new CpuGemm(px, pw, pb, d, latents);
                    gemm.Tile(r0, b, c0, f, pnarrow, f - c0);
                    int* slots = stackalloc int[f - c0];
                    for (int c = c0; c < f; c++) slots[c - c0] = c;
                    for (int r = r0; r < b; r++)
                    {
                        gemm.PreList(r, slots, f - c0, pl);
                        for (int c = c0; c < f; c++)
                        {
                            float expected = gemm.Pre(r, latents == null ? c : latents[c]);
                            int at = (r - r0) * (f - c0) + c - c0;
                            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(wide[at]));
                            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(narrow[at]));
                            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(pl[c - c0]));
                        }
                    }
                }
            }
            finally { CpuGemm.FreePairs(pairs); }
        }).QuickCheckThrowOnFailure();
    }

    private static float[] Values(Random rng, int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => scale * (float)(rng.NextDouble() * 2 - 1))];
}
