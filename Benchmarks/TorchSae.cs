using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SaeGpu.Benchmarks;

/// <summary>
/// TorchSharp-cpu baselines of SaeGpu's TopK SAE: the weights as parameters (W_enc, W_dec [F, d] with unit decoder rows,
/// W_enc = W_dec at start, zero biases; seeded) and two ways a user would write the TopK training step. Both are the
/// algorithm of SaeGpu's TopK step: pre = (x − b_dec)·W_encᵀ + b_enc, the k largest of each row kept (ReLU'd),
/// x̂ = a·W_dec + b_dec, loss Σ‖x̂ − x‖² / (B·d), the decoder gradient's component parallel to each row removed, Adam,
/// decoder rows renormalized to unit length. Intra-op threads = the machine's cores.
/// </summary>
public sealed class TorchSae : IDisposable
{
    private readonly int k, d;
    private readonly Parameter wEnc, bEnc, wDec, bDec;
    private readonly Tensor x;
    private readonly optim.Optimizer adam;
    private readonly EmbeddingBag decoderBag, encoderBag;
    private Tensor? pre, bias;

    /// <summary>Creates the parameters of a d×F SAE, Adam (lr 2e-4, SaeGpu's defaults), and the batch x [B, d] from host rows.</summary>
    public TorchSae(BenchShape s, float[] batch)
    {
        torch.set_num_threads(Environment.ProcessorCount);
        (k, d) = (s.K, s.D);
        using (torch.no_grad())
        {
            var gen = new Generator(0);
            var w = torch.randn(s.F, s.D, generator: gen);
            w.div_(w.norm(1, keepdim: true));
            wEnc = new Parameter(w.clone()); // a Parameter takes over its tensor's handle
            wDec = new Parameter(w);
            bEnc = new Parameter(torch.zeros(s.F));
            bDec = new Parameter(torch.zeros(s.D));
        }
        x = torch.tensor(batch, s.B, s.D);
        adam = optim.Adam([wEnc, bEnc, wDec, bDec], lr: 2e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8);
        // embedding_bag is only exposed as a module in TorchSharp; both share the parameters above.
        decoderBag = nn.EmbeddingBag(s.F, s.D, mode: EmbeddingBagMode.Sum);
        decoderBag.weight = wDec;
        encoderBag = nn.EmbeddingBag(s.F, s.D, mode: EmbeddingBagMode.Sum);
        encoderBag.weight = wEnc;
    }

    /// <summary>The batch x [B, d].</summary>
    public Tensor X => x;

    /// <summary>The parameters W_enc, b_enc, W_dec, b_dec.</summary>
    public IReadOnlyList<Tensor> Weights => [wEnc, bEnc, wDec, bDec];

    /// <summary>
    /// The encode GEMM alone, the floor of every step: pre = (x − b_dec)·W_encᵀ + b_enc as one <c>addmm_</c> into a [B, F]
    /// allocated on the first call (the bias copied in first), like SaeGpu's <c>Encode</c>.
    /// </summary>
    public void Encode()
    {
        using var noGrad = no_grad();
        pre ??= zeros(x.shape[0], bEnc.shape[0]);
        bias ??= bEnc.detach().expand(x.shape[0], bEnc.shape[0]);
        using var centered = x - bDec;
        using var wT = wEnc.t();
        pre.copy_(bias).addmm_(centered, wT); // in-place ops return pre itself: nothing to dispose
    }

    /// <summary>
    /// (a) Dense autograd, as a user would write it: encode, topk, scatter into a dense [B, F] code matrix, decode with a
    /// matmul, MSE, backward (dense GEMMs for both weight gradients and the input gradient), Adam. Returns the loss.
    /// </summary>
    public float DenseStep()
    {
        using var scope = torch.NewDisposeScope();
        var pre = torch.addmm(bEnc, x - bDec, wEnc.t(), 1, 1);
        var (values, indices) = pre.topk(k, dim: 1);
        var codes = torch.zeros_like(pre).scatter(1, indices, nn.functional.relu(values));
        var xhat = torch.addmm(bDec, codes, wDec, 1, 1);
        var loss = nn.functional.mse_loss(xhat, x);
        adam.zero_grad();
        loss.backward();
        Finish();
        return loss.item<float>();
    }

    /// <summary>
    /// (b) Sparse-aware, as sparsify's eager path: the encode GEMM and topk without autograd, the decode as
    /// embedding_bag(indices, W_dec, per_sample_weights = values, sum) with autograd (W_dec, b_dec and the values'
    /// gradients), the encoder's gradients by hand — W_enc and b_enc by index_add_ of the B·k rows, b_dec's encoder
    /// part by embedding_bag over W_enc — then Adam. Returns the loss.
    /// </summary>
    public float SparseStep()
    {
        using var scope = torch.NewDisposeScope();
        Tensor centered, values, indices;
        using (torch.no_grad())
        {
            centered = x - bDec;
            (values, indices) = torch.addmm(bEnc, centered, wEnc.t(), 1, 1).topk(k, dim: 1);
        }
        var acts = nn.functional.relu(values).requires_grad_();
        var xhat = decoderBag.call(indices, null!, acts) + bDec;
        var loss = nn.functional.mse_loss(xhat, x);
        adam.zero_grad();
        loss.backward();
        using (torch.no_grad())
        {
            var gPre = acts.grad!.mul_(values.gt(0));              // ∂L/∂pre at the kept entries [B, k]
            var flat = indices.flatten();
            wEnc.grad = torch.zeros_like(wEnc).index_add_(0, flat, (gPre.unsqueeze(2) * centered.unsqueeze(1)).reshape(-1, d), 1);
            bEnc.grad = torch.zeros_like(bEnc).index_add_(0, flat, gPre.flatten(), 1);
            // ∂pre/∂b_dec = −W_enc. (A bare .sum(0) would bind 0 to the ScalarType overload: Byte.)
            bDec.grad!.sub_(encoderBag.call(indices, null!, gPre).sum(dim: 0));
        }
        Finish();
        return loss.item<float>();
    }

    // Decoder gradient minus its component along each (unit) row, Adam, rows back to unit length.
    private void Finish()
    {
        using (torch.no_grad())
        {
            var g = wDec.grad!;
            g.sub_((g * wDec).sum(1, keepdim: true) * wDec);
        }
        adam.step();
        using (torch.no_grad()) wDec.div_(wDec.norm(1, keepdim: true));
    }

    /// <summary>Frees the tensors and modules.</summary>
    public void Dispose()
    {
        adam.Dispose();
        decoderBag.Dispose();
        encoderBag.Dispose();
        pre?.Dispose();
        bias?.Dispose();
        foreach (var t in new Tensor[] { x, wEnc, bEnc, wDec, bDec }) t.Dispose();
    }
}
