using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using SaeGpu.Tests.Support;
using Xunit;

namespace SaeGpu.Tests.Compute;

/// <summary>
/// Safety at the boundary: every op of every backend, given one buffer of the wrong size, throws an
/// <see cref="ArgumentException"/> naming that buffer before it touches memory (every buffer keeps its contents). Each op
/// lists its arguments with the length its dimensions imply; the dimensions themselves (B, d, F, n) are read from some
/// arguments (marked as defining), so the property mis-sizes each of the others — too short, too long, or empty (for
/// "at least" buffers only too short) — on generated shapes. Written once and run per backend (one subclass each).
/// </summary>
public abstract class BoundaryProperties(string backend)
{
    private enum Kind { Float, Int, Codes }

    /// <summary>An argument: its name, its length for the dimensions, whether it may be longer, and whether it defines a dimension.</summary>
    private sealed record Arg(string Name, Func<Dims, long> Length, Kind Kind = Kind.Float, bool AtLeast = false, bool Defining = false);

    /// <summary>Dimensions of a generated call: B rows, d width, F latents, k per row, n prefixes.</summary>
    private sealed record Dims(int B, int D, int F, int K, int N)
    {
        public long Capacity => (long)B * K;

        public override string ToString() => $"B {B}, d {D}, F {F}, k {K}, n {N}";
    }

    /// <summary>An op: its arguments and how to call it on the tensors (by argument name) of a backend.</summary>
    private sealed record Op(string Name, Arg[] Args, Action<Backend, Args, Dims> Call)
    {
        public override string ToString() => Name;
    }

    private sealed class Args(Dictionary<string, object> values)
    {
        public Tensor<float> F(string name) => (Tensor<float>)values[name];
        public Tensor<int> I(string name) => (Tensor<int>)values[name];
        public SparseCodes C(string name) => (SparseCodes)values[name];
    }

    private static Arg X(string name, Func<Dims, long> length, bool defining = false) => new(name, length, Defining: defining);

    // Codes an op writes need room for B·k entries; codes an op reads define B (their capacity is whatever they hold).
    private static Arg Codes() => new("codes", d => d.Capacity, Kind.Codes, AtLeast: true);

    private static Arg ReadCodes() => new("codes", d => d.Capacity, Kind.Codes, AtLeast: true, Defining: true);

    private static readonly Op[] Ops =
    [
        new("Encode", [X("x", d => (long)d.B * d.D, true), X("bDec", d => d.D, true), X("wEnc", d => (long)d.F * d.D), X("bEnc", d => d.F, true), X("pre", d => (long)d.B * d.F)],
            (be, a, _) => be.Encode(a.F("x"), a.F("bDec"), a.F("wEnc"), a.F("bEnc"), a.F("pre"))),
        new("TopK", [X("pre", d => (long)d.B * d.F, true), X("targetNorms", d => d.B), Codes()],
            (be, a, d) => be.TopK(a.F("pre"), d.K, false, a.F("targetNorms"), a.C("codes"))),
        new("EncodeTopK", [X("x", d => (long)d.B * d.D, true), X("bDec", d => d.D, true), X("wEnc", d => (long)d.F * d.D), X("bEnc", d => d.F, true),
                new("mask", d => d.F, Kind.Int), X("targetNorms", d => d.B), Codes()],
            (be, a, d) => be.EncodeTopK(a.F("x"), a.F("bDec"), a.F("wEnc"), a.F("bEnc"), a.I("mask"), d.K, false, a.F("targetNorms"), a.C("codes"))),
        new("ThresholdSelect", [X("pre", d => (long)d.B * d.F), X("thresholds", d => d.F, true), new("cuts", d => d.F, Kind.Int),
                new("codes", d => (long)d.B * d.F, Kind.Codes, AtLeast: true, Defining: true)],
            (be, a, _) => be.ThresholdSelect(a.F("pre"), a.F("thresholds"), a.I("cuts"), a.C("codes"))),
        new("BatchTopKThreshold", [X("pre", d => (long)d.B * d.F, true), X("thresholds", d => d.F, true), new("cuts", d => d.F, Kind.Int)],
            (be, a, d) => be.BatchTopKThreshold(a.F("pre"), d.K, a.F("thresholds"), a.I("cuts"))),
        new("ColumnTopKThreshold", [X("pre", d => (long)d.B * d.F, true), new("budgets", d => d.F, Kind.Int), X("thresholds", d => d.F, true), new("cuts", d => d.F, Kind.Int)],
            (be, a, _) => be.ColumnTopKThreshold(a.F("pre"), a.I("budgets"), a.F("thresholds"), a.I("cuts"))),
        new("MatchingPursuit", [X("x", d => (long)d.B * d.D, true), X("atoms", d => (long)d.F * d.D, true), Codes(), X("residual", d => (long)d.B * d.D)],
            (be, a, d) => be.MatchingPursuit(a.F("x"), a.F("atoms"), d.K, a.C("codes"), a.F("residual"))),
        new("SparseDecode", [ReadCodes(), X("w", d => (long)d.F * d.D, true), X("bias", d => d.D, true), X("output", d => (long)d.B * d.D)],
            (be, a, _) => be.SparseDecode(a.C("codes"), a.F("w"), a.F("bias"), a.F("output"))),
        new("SparseDecodeGrad", [ReadCodes(), X("w", d => (long)d.F * d.D, true), X("bias", d => d.D, true), X("x", d => (long)d.B * d.D),
                X("xhat", d => (long)d.B * d.D), X("grad", d => (long)d.B * d.D), X("sse", d => d.B), new("gValues", d => d.Capacity, AtLeast: true)],
            (be, a, _) => be.SparseDecodeGrad(a.C("codes"), a.F("w"), a.F("bias"), a.F("x"), 1f, 0f, a.F("xhat"), a.F("grad"), a.F("sse"), a.F("gValues"))),
        new("ReconstructionError", [X("x", d => (long)d.B * d.D, true), X("xhat", d => (long)d.B * d.D), X("grad", d => (long)d.B * d.D), X("sse", d => d.B, true)],
            (be, a, _) => be.ReconstructionError(a.F("x"), a.F("xhat"), 1f, a.F("grad"), a.F("sse"))),
        new("ValueGrad", [ReadCodes(), X("gOut", d => (long)d.B * d.D, true), X("w", d => (long)d.F * d.D, true), new("gValues", d => d.Capacity, AtLeast: true)],
            (be, a, _) => be.ValueGrad(a.C("codes"), a.F("gOut"), a.F("w"), 0f, a.F("gValues"))),
        new("PrefixLoss", [ReadCodes(), X("w", d => (long)d.F * d.D, true), X("bias", d => d.D, true), X("x", d => (long)d.B * d.D), new("ends", d => d.N, Kind.Int, Defining: true),
                X("coefficients", d => d.N), X("gGroup", d => (long)d.B * d.N * d.D), X("gOut", d => (long)d.B * d.D), new("gValues", d => d.Capacity, AtLeast: true), X("sse", d => (long)d.B * d.N)],
            (be, a, _) =>
            {
                using var groups = a.C("codes").GroupView((int)a.I("ends").Length);
                be.PrefixLoss(a.C("codes"), a.F("w"), a.F("bias"), a.F("x"), a.I("ends"), a.F("coefficients"), groups, a.F("gGroup"), a.F("gOut"), a.F("gValues"), a.F("sse"));
            }),
        new("AfaLossGrad", [ReadCodes(), X("targets", d => d.B), new("gValues", d => d.Capacity, AtLeast: true)],
            (be, a, _) => be.AfaLossGrad(a.C("codes"), a.F("targets"), 1f, a.F("gValues"))),
        new("RowNorm", [X("x", d => (long)d.B * d.D), X("center", d => d.D, true), X("norms", d => d.B, true)],
            (be, a, _) => be.RowNorm(a.F("x"), a.F("center"), a.F("norms"))),
        new("AggregateByLatent", [ReadCodes(), new("g", d => d.Capacity, AtLeast: true), X("v", d => (long)d.B * d.D), X("center", d => d.D, true),
                X("gW", d => (long)d.F * d.D), X("gSum", d => d.F, true), new("counts", d => d.F, Kind.Int)],
            (be, a, _) => be.AggregateByLatent(a.C("codes"), a.F("g"), a.F("v"), a.F("center"), false, a.F("gW"), a.F("gSum"), a.I("counts"))),
        new("GradientScore", [X("pre", d => (long)d.B * d.F, true), X("proj", d => (long)d.B * d.F), X("score", d => (long)d.B * d.F)],
            (be, a, _) => be.GradientScore(a.F("pre"), a.F("proj"), 1f, a.F("score"))),
        new("Axpy", [X("x", d => (long)d.B * d.F, true), X("y", d => (long)d.B * d.F)], (be, a, _) => be.Axpy(2f, a.F("x"), a.F("y"))),
        new("MaskLatents", [X("pre", d => (long)d.B * d.F, true), new("mask", d => d.F, Kind.Int, Defining: true), X("output", d => (long)d.B * d.F)],
            (be, a, _) => be.MaskLatents(a.F("pre"), a.I("mask"), a.F("output"))),
        new("JumpReluThresholdGrad", [X("pre", d => (long)d.B * d.F, true), X("theta", d => d.F, true), X("gOut", d => (long)d.B * d.D, true),
                X("wDec", d => (long)d.F * d.D), X("gTheta", d => d.F)],
            (be, a, _) => be.JumpReluThresholdGrad(a.F("pre"), a.F("theta"), a.F("gOut"), a.F("wDec"), 0.1f, 0f, 0.1f, 4f, a.F("gTheta"))),
        new("ScaleLatents", [ReadCodes(), X("scale", d => d.F, true), X("center", d => d.F), new("values", d => d.Capacity, AtLeast: true)],
            (be, a, _) => be.ScaleLatents(a.C("codes"), a.F("scale"), a.F("center"), a.F("values"))),
        new("RowDot", [X("a", d => (long)d.F * d.D, true), X("b", d => (long)d.F * d.D), X("output", d => d.F, true)],
            (be, a, _) => be.RowDot(a.F("a"), a.F("b"), a.F("output"))),
        new("ScaleColumns", [X("input", d => (long)d.B * d.F, true), X("scale", d => d.F, true), X("center", d => d.F), X("output", d => (long)d.B * d.F)],
            (be, a, _) => be.ScaleColumns(a.F("input"), a.F("scale"), a.F("center"), a.F("output"))),
        new("TanhPenaltyGrad", [ReadCodes(), new("gValues", d => d.Capacity, AtLeast: true)],
            (be, a, _) => be.TanhPenaltyGrad(a.C("codes"), 0.5f, 4f, a.F("gValues"))),
        new("DecoderBiasGrad", [X("gOut", d => (long)d.B * d.D, true), X("gbEnc", d => d.F, true), X("wEnc", d => (long)d.F * d.D), X("gbDec", d => d.D, true)],
            (be, a, _) => be.DecoderBiasGrad(a.F("gOut"), a.F("gbEnc"), a.F("wEnc"), a.F("gbDec"))),
        new("Adam", [X("grad", d => (long)d.F * d.D), X("param", d => (long)d.F * d.D, true), X("m", d => (long)d.F * d.D), X("v", d => (long)d.F * d.D)],
            (be, a, _) => be.Adam(a.F("grad"), a.F("param"), a.F("m"), a.F("v"), 1e-3f, 0.9f, 0.999f, 1e-8f, 1)),
        new("RemoveParallelGrad", [X("w", d => (long)d.F * d.D, true), X("g", d => (long)d.F * d.D)],
            (be, a, d) => be.RemoveParallelGrad(a.F("w"), d.D, false, a.F("g"))),
        new("ExclusiveScan", [new("counts", d => d.F, Kind.Int, Defining: true), new("offsets", d => d.F + 1L, Kind.Int)],
            (be, a, _) => be.ExclusiveScan(a.I("counts"), a.I("offsets"))),
        // The public ops on host spans (the codes are host batches of B rows, k per row, latents below F).
        new("Encode(spans)", [X("x", d => (long)d.B * d.D, true), X("bDec", d => d.D, true), X("wEnc", d => (long)d.F * d.D), X("bEnc", d => d.F, true), X("pre", d => (long)d.B * d.F)],
            (be, a, _) => be.Encode(Host(a.F("x")), Host(a.F("bDec")), Host(a.F("wEnc")), Host(a.F("bEnc")), HostOut(a.F("pre")))),
        new("EncodeTopK(spans)", [X("x", d => (long)d.B * d.D, true), X("bDec", d => d.D, true), X("wEnc", d => (long)d.F * d.D), X("bEnc", d => d.F, true)],
            (be, a, d) => be.EncodeTopK(Host(a.F("x")), Host(a.F("bDec")), Host(a.F("wEnc")), Host(a.F("bEnc")), d.K, false, new SparseBatch())),
        new("ThresholdSelect(spans)", [X("pre", d => (long)d.B * d.F, true), X("thresholds", d => d.F, true), new("cuts", d => d.F, Kind.Int)],
            (be, a, _) => be.ThresholdSelect(Host(a.F("pre")), Host(a.F("thresholds")), HostInt(a.I("cuts")), new SparseBatch())),
        new("BatchTopKThreshold(spans)", [X("pre", d => (long)d.B * d.F, true), X("thresholds", d => d.F, true), new("cuts", d => d.F, Kind.Int)],
            (be, a, d) => be.BatchTopKThreshold(Host(a.F("pre")), d.K, HostOut(a.F("thresholds")), HostIntOut(a.I("cuts")))),
        new("MatchingPursuit(spans)", [X("x", d => (long)d.B * d.D, true), X("atoms", d => (long)d.F * d.D, true), X("residual", d => (long)d.B * d.D)],
            (be, a, d) => be.MatchingPursuit(Host(a.F("x")), d.D, Host(a.F("atoms")), d.K, new SparseBatch(), HostOut(a.F("residual")))),
        new("SparseDecode(spans)", [X("w", d => (long)d.F * d.D, true), X("bias", d => d.D, true), X("output", d => (long)d.B * d.D)],
            (be, a, d) => be.SparseDecode(Batch(d), Host(a.F("w")), Host(a.F("bias")), HostOut(a.F("output")))),
        new("SparseDecodeGrad(spans)", [X("w", d => (long)d.F * d.D, true), X("bias", d => d.D, true), X("x", d => (long)d.B * d.D), X("xhat", d => (long)d.B * d.D),
                X("grad", d => (long)d.B * d.D), X("sse", d => d.B), X("gValues", d => d.Capacity)],
            (be, a, d) => be.SparseDecodeGrad(Batch(d), Host(a.F("w")), Host(a.F("bias")), Host(a.F("x")), 1f, 0f, HostOut(a.F("xhat")), HostOut(a.F("grad")),
                HostOut(a.F("sse")), HostOut(a.F("gValues")))),
        new("AggregateByLatent(spans)", [X("g", d => d.Capacity), X("v", d => (long)d.B * d.D), X("center", d => d.D, true), X("gW", d => (long)d.F * d.D),
                X("gSum", d => d.F, true), new("counts", d => d.F, Kind.Int)],
            (be, a, d) => be.AggregateByLatent(Batch(d), Host(a.F("g")), Host(a.F("v")), Host(a.F("center")), false, HostOut(a.F("gW")), HostOut(a.F("gSum")),
                HostIntOut(a.I("counts")))),
        new("Adam(spans)", [X("grad", d => (long)d.F * d.D), X("param", d => (long)d.F * d.D, true), X("m", d => (long)d.F * d.D), X("v", d => (long)d.F * d.D)],
            (be, a, _) => be.Adam(Host(a.F("grad")), HostOut(a.F("param")), HostOut(a.F("m")), HostOut(a.F("v")), 1e-3f, 0.9f, 0.999f, 1e-8f, 1)),
    ];

    // Span ops read the tensors' host copies, kept per tensor so a write through a span is seen by the unchanged-check.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<object, Array> Mirrors = new();

    private static float[] HostOut(Tensor<float> t) => (float[])Mirrors.GetValue(t, k => ((Tensor<float>)k).Owner.ToHost((Tensor<float>)k));
    private static ReadOnlySpan<float> Host(Tensor<float> t) => HostOut(t);
    private static int[] HostIntOut(Tensor<int> t) => (int[])Mirrors.GetValue(t, k => ((Tensor<int>)k).Owner.ToHost((Tensor<int>)k));
    private static ReadOnlySpan<int> HostInt(Tensor<int> t) => HostIntOut(t);

    // k entries per row at latents 0 … k−1 (all < F).
    private static SparseBatch Batch(Dims d) =>
        new([.. Enumerable.Range(0, d.B + 1).Select(r => r * d.K)], [.. Enumerable.Range(0, d.B * d.K).Select(e => e % d.K)], new float[d.B * d.K]);

    /// <summary>A call with one non-defining argument mis-sized.</summary>
    private sealed record Case(Op Op, Arg Bad, long WrongLength, Dims Dims)
    {
        public override string ToString() => $"{Op.Name}: {Bad.Name} of {WrongLength} for {Dims}";
    }

    private static readonly Gen<Case> Cases =
        from op in Gen.Elements(Ops)
        from bad in Gen.Elements(op.Args.Where(a => !a.Defining).ToArray())
        from b in Gen.Choose(1, 3)
        from d in Gen.Choose(1, 5)
        from f in Gen.Choose(2, 9)
        from k in Gen.Choose(1, 2)
        from n in Gen.Choose(1, 3)
        let dims = new Dims(b, d, f, k, n)
        let right = bad.Length(dims)
        from wrong in Gen.Elements<long>(bad.AtLeast ? [right - 1, 0L] : [right - 1, right + 1, 0L, 2 * right + 1])
        where wrong >= (bad.Kind == Kind.Codes ? 1 : 0) && wrong != right && !(bad.AtLeast && wrong >= right)
        select new Case(op, bad, wrong, dims);

    private static Property Holds(string backend) => Prop.ForAll(Cases.ToArbitrary(), c =>
    {
        var be = TestBackends.ByName(backend);
        var values = new Dictionary<string, object>();
        try
        {
            foreach (var arg in c.Op.Args) values[arg.Name] = Make(be, arg, arg == c.Bad ? c.WrongLength : arg.Length(c.Dims), c.Dims);
            var before = values.ToDictionary(v => v.Key, v => Snapshot(be, v.Value));
            var e = Assert.ThrowsAny<ArgumentException>(() => c.Op.Call(be, new Args(values), c.Dims));
            Assert.True(e.ParamName == c.Bad.Name, $"{c}: the exception names '{e.ParamName}' ({e.Message})");
            foreach (var (name, value) in values) Assert.True(before[name].SequenceEqual(Snapshot(be, value)), $"{c}: '{name}' changed before the throw");
        }
        finally
        {
            foreach (var v in values.Values) ((IDisposable)v).Dispose();
        }
    });

    // A tensor (or codes) of `length` elements (rows × capacity for codes), filled with a marker value.
    private static object Make(Backend be, Arg arg, long length, Dims d) => arg.Kind switch
    {
        Kind.Float => be.FromHost<float>(Enumerable.Repeat(0.25f, (int)length).ToArray()),
        Kind.Int => be.FromHost<int>(Enumerable.Range(0, (int)length).Select(i => arg.Name == "ends" ? Math.Min(d.F, i + 1 + d.F - (int)length) : 0).ToArray()),
        _ => new SparseCodes(be, d.B, Math.Max(1, length)),
    };

    // Everything a call could write: the tensor's (or the host mirror's, for spans) contents; codes' offsets and entries.
    private static float[] Snapshot(Backend be, object value) => value switch
    {
        Tensor<float> t => Mirrors.TryGetValue(t, out var m) ? [.. (float[])m] : be.ToHost(t),
        Tensor<int> t => [.. (Mirrors.TryGetValue(t, out var m) ? (int[])m : be.ToHost(t)).Select(i => (float)i)],
        SparseCodes c => [.. be.ToHost(c.Offsets).Select(i => (float)i), .. be.ToHost(c.Indices).Select(i => (float)i), .. be.ToHost(c.Values)],
        _ => throw new ArgumentException(value.GetType().Name),
    };

    [Property] public Property WrongSizedArgument_Throws_NamingIt() => Holds(backend);

    /// <summary>The harness itself: with every argument at its right size, each op runs (so a throw above is the bad argument's).</summary>
    [Fact]
    public void EveryOp_RunsWithRightSizedArguments()
    {
        var be = TestBackends.ByName(backend);
        var dims = new Dims(3, 4, 6, 2, 2);
        foreach (var op in Ops)
        {
            var values = op.Args.ToDictionary(a => a.Name, a => Make(be, a, a.Length(dims), dims));
            try { op.Call(be, new Args(values), dims); }
            finally { foreach (var v in values.Values) ((IDisposable)v).Dispose(); }
        }
    }

    /// <summary>
    /// Codes index the latents of the matrix they were selected from (or, uploaded from the host, their largest index):
    /// every op that reads a row per entry refuses codes from a larger F, naming the codes, and a matching F runs.
    /// </summary>
    [Fact]
    public void CodeReaders_RefuseCodesFromALargerF_NamingThem()
    {
        var be = TestBackends.ByName(backend);
        const int B = 2, D = 3, Small = 4, Large = 12, K = 2;
        using var fromOp = new SparseCodes(be, B, B * K);
        using (var pre = be.FromHost<float>([.. Enumerable.Range(0, B * Large).Select(i => (float)(i % Large))]))
            be.TopK(pre, K, false, null, fromOp);   // picks latents 10 and 11 of F = 12
        using var uploaded = new SparseCodes(be, B, B * K);
        uploaded.Upload(new SparseBatch([0, 1, 2], [1, Small], [1f, 1f]));   // latent 4 = F of the small matrices
        using var w = be.Allocate<float>(Small * D);
        using var bias = be.Allocate<float>(D);
        using var rowsD = be.Allocate<float>(B * D);
        using var rowsD2 = be.Allocate<float>(B * D);
        using var rowsD3 = be.Allocate<float>(B * D);
        using var perRow = be.Allocate<float>(B);
        using var perEntry = be.Allocate<float>(B * K);
        using var perLatent = be.Allocate<float>(Small);
        using var perLatent2 = be.Allocate<float>(Small);
        using var gW = be.Allocate<float>(Small * D);
        using var counts = be.Allocate<int>(Small);
        using var pre4 = be.Allocate<float>(B * Small);
        var readers = new (string Op, Action<SparseCodes> Call)[]
        {
            ("SparseDecode", c => be.SparseDecode(c, w, bias, rowsD)),
            ("SparseDecodeGrad", c => be.SparseDecodeGrad(c, w, bias, rowsD, 1f, 0f, rowsD2, rowsD3, perRow, perEntry)),
            ("AggregateByLatent", c => be.AggregateByLatent(c, perEntry, rowsD, bias, false, gW, perLatent, counts)),
            ("ValueGrad", c => be.ValueGrad(c, rowsD, w, 0f, perEntry)),
            ("GatherCodes", c => be.GatherCodes(c, pre4)),
            ("ScaleLatents", c => be.ScaleLatents(c, perLatent, perLatent2, perEntry)),
        };
        foreach (var (op, call) in readers)
            foreach (var codes in new[] { fromOp, uploaded })
                Assert.True(Assert.ThrowsAny<ArgumentException>(() => call(codes)).ParamName == "codes", $"{op} did not name the codes");
        uploaded.Upload(new SparseBatch([0, 1, 2], [1, Small - 1], [1f, 1f]));
        foreach (var (_, call) in readers) call(uploaded);
        var span = Assert.ThrowsAny<ArgumentException>(() =>
            be.SparseDecode(new SparseBatch([0, 1, 2], [1, Small], [1f, 1f]), new float[Small * D], new float[D], new float[B * D]));
        Assert.Equal("codes", span.ParamName);
    }
}

/// <summary>The boundary checks of the scalar reference.</summary>
[Properties(MaxTest = 400)]
public sealed class BoundaryPropertiesOnReference() : BoundaryProperties("reference");

/// <summary>The boundary checks of the SIMD CPU path.</summary>
[Properties(MaxTest = 400)]
public sealed class BoundaryPropertiesOnCpu() : BoundaryProperties("cpu");

/// <summary>The boundary checks of the ILGPU backend on ILGPU's CPU accelerator (the checks run before any kernel).</summary>
[Properties(MaxTest = 150)]
public sealed class BoundaryPropertiesOnIlgpuCpu() : BoundaryProperties("ilgpu-cpu");

/// <summary>The boundary checks on a CUDA device; skipped where there is none.</summary>
[Properties(MaxTest = 150)]
public sealed class BoundaryPropertiesOnCuda : BoundaryProperties
{
    public BoundaryPropertiesOnCuda() : base("cuda") => TestBackends.SkipWithoutCuda();
}
