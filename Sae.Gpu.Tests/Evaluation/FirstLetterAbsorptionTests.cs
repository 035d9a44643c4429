using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Evaluation;

/// <summary>
/// First-letter absorption on a hand-built SAE: three letter directions, one direction per word, main latents for the
/// letters, and one latent that absorbs the letter b for the word "bat" (its main latent is silent there and the absorber's
/// decoder carries the letter).
/// </summary>
public class FirstLetterAbsorptionTests
{
    private static readonly string[] Words = ["apple", "ant", "arc", "ask", "aim", "axe", "bat", "bee", "bog", "bus", "box", "bin", "cat", "cow", "cup", "cab", "cod", "cue"];
    private const int Letters = 3, PerWord = 40, Bat = 6;
    private static readonly int D = Letters + Words.Length, F = Letters + Words.Length + 1;

    private static (float[] X, string[] Tokens) Data()
    {
        var rng = new Random(1);
        var tokens = new List<string>();
        var x = new List<float>();
        for (int n = 0; n < PerWord; n++)
            for (int w = 0; w < Words.Length; w++)
            {
                var row = new float[D];
                row[Words[w][0] - 'a'] = 2;
                row[Letters + w] = 1;
                for (int i = 0; i < D; i++) row[i] += (float)(0.05 * (rng.NextDouble() * 2 - 1));
                x.AddRange(row);
                tokens.Add(Words[w]);
                if (n % 4 == 0) { x.AddRange(new float[D]); tokens.Add("##s"); } // word pieces are not words
            }
        return ([.. x], [.. tokens]);
    }

    private static SparseAutoencoder Sae()
    {
        var sae = SparseAutoencoder.Create(new SaeConfig(D, F, 4, "relu"), TestBackends.Cpu);
        float[] wEnc = new float[F * D], wDec = new float[F * D], bEnc = new float[F];
        for (int c = 0; c < Letters; c++) (wEnc[c * D + c], wDec[c * D + c], bEnc[c]) = (1, 1, -1);
        wEnc[1 * D + Letters + Bat] = -3; // the main latent of b is silent on "bat"
        for (int w = 0; w < Words.Length; w++) (wEnc[(Letters + w) * D + Letters + w], wDec[(Letters + w) * D + Letters + w], bEnc[Letters + w]) = (1, 1, -0.5f);
        int absorber = F - 1;
        float s = MathF.Sqrt(5);
        (wEnc[absorber * D + Letters + Bat], bEnc[absorber]) = (s, -0.5f);
        (wDec[absorber * D + 1], wDec[absorber * D + Letters + Bat]) = (2 / s, 1 / s); // carries the letter b
        sae.SetParameter("W_enc", wEnc);
        sae.SetParameter("W_dec", wDec);
        sae.SetParameter("b_enc", bEnc);
        return sae;
    }

    [Fact]
    public void Absorber_IsFound_ForTheAbsorbedWord_AndNowhereElse()
    {
        var (x, tokens) = Data();
        using var sae = Sae();
        bool sawBatInTest = false;
        for (int seed = 0; seed < 8; seed++)
        {
            var r = FirstLetterAbsorption.Measure(sae, x, tokens, new FirstLetterOptions(Seed: seed));
            Assert.Equal(Words.Length * PerWord, r.WordTokens);
            Assert.Equal(3, r.Letters.Count);
            Assert.All(r.Letters, l => Assert.True(l.Scored && l.ProbeF1 > 0.99, $"{l.Letter}: probe F1 {l.ProbeF1}"));
            // The letter's latent is the first main latent; a and c need no other. (When "bat" is a fit word, b's main latents
            // also take a latent that fires on "bat", because the letter latent misses it: feature splitting.)
            Assert.All(r.Letters, l => Assert.Equal(l.Letter - 'a', l.MainLatents[0]));
            Assert.All(r.Letters.Where(l => l.Letter != 'b'), l => Assert.Single(l.MainLatents));
            foreach (var l in r.Letters.Where(l => l.Letter != 'b')) Assert.Equal((0.0, 0.0, 0.0), (l.MainMiss, l.FullAbsorption, l.AbsorptionFraction));
            var b = r.Letters.Single(l => l.Letter == 'b');
            double batShare = (double)PerWord / b.ProbePositives;
            // "bat" is a test word under some seeds: then exactly its tokens are missed and fully absorbed.
            if (b.FullAbsorption > 0)
            {
                sawBatInTest = true;
                Assert.Equal(batShare, b.FullAbsorption, 9);
                Assert.Equal(batShare, b.MainMiss, 9);
                Assert.Equal(batShare, b.AbsorptionFraction, 9);
                Assert.Equal([1], b.MainLatents);
            }
            else Assert.Equal(0, b.MainMiss);
            Assert.Equal(r.Letters.Average(l => l.FullAbsorption), r.MeanFullAbsorption, 12);
        }
        Assert.True(sawBatInTest, "no seed put 'bat' in the test half");
    }

    [Fact]
    public void Measure_RefusesMismatchedShapes_AndDataWithoutWords()
    {
        using var sae = Sae();
        Assert.Contains("tokens", Assert.Throws<ArgumentException>(() => FirstLetterAbsorption.Measure(sae, new float[D * 3], ["ab", "cd"])).Message);
        Assert.Contains("word", Assert.Throws<ArgumentException>(() => FirstLetterAbsorption.Measure(sae, new float[D * 2], ["##ab", "7"])).Message);
    }

    [Theory]
    [InlineData("the", true)]
    [InlineData("a", false)]
    [InlineData("##ing", false)]
    [InlineData("The", false)]
    [InlineData("don't", false)]
    public void IsWord_TakesTwoOrMoreLowerCaseLetters(string token, bool expected) => Assert.Equal(expected, FirstLetterAbsorption.IsWord(token));
}
