using System.Text;

namespace SaeGpu.Extract;

/// <summary>One node of an ONNX graph: the NodeProto fields SaeGpu reads.</summary>
/// <param name="Name">NodeProto.name (field 3); may be empty.</param>
/// <param name="OpType">NodeProto.op_type (field 4), e.g. <c>LayerNormalization</c> or <c>ReduceMean</c>.</param>
/// <param name="Inputs">NodeProto.input (field 1): tensor names.</param>
/// <param name="Outputs">NodeProto.output (field 2): tensor names.</param>
public sealed record OnnxNode(string Name, string OpType, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);

/// <summary>
/// A minimal reader and editor of serialized ONNX models (protobuf wire format, written by hand: no generated code).
/// It reads the graph's nodes and output names, and rewrites the graph's outputs so that intermediate tensors (which ONNX
/// Runtime does not return otherwise) become outputs of the session. Only the fields it needs are decoded:
/// ModelProto.graph (field 7); GraphProto.node (1) and GraphProto.output (12); NodeProto.input (1), output (2), name (3),
/// op_type (4); ValueInfoProto.name (1) and type (2). Every other field, initializers included, is copied byte for byte.
/// </summary>
public static class OnnxGraph
{
    private const int WireVarint = 0, WireFixed64 = 1, WireLength = 2, WireFixed32 = 5;
    private const int ModelGraph = 7, GraphNode = 1, GraphOutput = 12;

    /// <summary>ONNX TensorProto.DataType of float32 (the <c>elem_type</c> of added outputs).</summary>
    public const int ElemFloat = 1;

    /// <summary>The graph's nodes in file order (ONNX requires topological order).</summary>
    public static IReadOnlyList<OnnxNode> Nodes(ReadOnlySpan<byte> model)
    {
        var graph = GraphSpan(model);
        var nodes = new List<OnnxNode>();
        foreach (var f in Fields(graph))
        {
            if (f.Number != GraphNode || f.Wire != WireLength) continue;
            var (inputs, outputs) = (new List<string>(), new List<string>());
            string name = "", op = "";
            foreach (var n in Fields(graph.Slice(f.Start, f.Length)))
            {
                if (n.Wire != WireLength) continue;
                string s = Encoding.UTF8.GetString(graph.Slice(f.Start + n.Start, n.Length));
                switch (n.Number)
                {
                    case 1: inputs.Add(s); break;
                    case 2: outputs.Add(s); break;
                    case 3: name = s; break;
                    case 4: op = s; break;
                }
            }
            nodes.Add(new OnnxNode(name, op, inputs, outputs));
        }
        return nodes;
    }

    /// <summary>Names of the graph's outputs (GraphProto.output), in order.</summary>
    public static IReadOnlyList<string> Outputs(ReadOnlySpan<byte> model)
    {
        var graph = GraphSpan(model);
        var names = new List<string>();
        foreach (var f in Fields(graph))
        {
            if (f.Number != GraphOutput || f.Wire != WireLength) continue;
            foreach (var v in Fields(graph.Slice(f.Start, f.Length)))
                if (v.Number == 1 && v.Wire == WireLength) names.Add(Encoding.UTF8.GetString(graph.Slice(f.Start + v.Start, v.Length)));
        }
        return names;
    }

    /// <summary>
    /// Returns a copy of <paramref name="model"/> whose graph also outputs the tensors <paramref name="names"/> (float32, shape
    /// left to inference). Names that are already outputs are not added twice; a name that no node produces throws.
    /// With <paramref name="replace"/> the existing outputs are dropped and so are the nodes that the new outputs do not
    /// depend on (ONNX Runtime runs every node of a graph, needed or not), so the session computes only what is asked for;
    /// graphs with control-flow nodes (If, Loop, Scan), whose subgraphs this reader does not follow, keep all their nodes.
    /// </summary>
    public static byte[] WithOutputs(ReadOnlySpan<byte> model, IEnumerable<string> names, bool replace = false)
    {
        var wanted = names.Distinct(StringComparer.Ordinal).ToArray();
        var nodes = Nodes(model);
        var produced = nodes.SelectMany(n => n.Outputs).ToHashSet(StringComparer.Ordinal);
        if (wanted.FirstOrDefault(n => !produced.Contains(n)) is { } missing)
            throw new ArgumentException($"No node of the ONNX graph outputs a tensor named '{missing}'.", nameof(names));
        var existing = replace ? [] : Outputs(model).ToHashSet(StringComparer.Ordinal);
        var keep = replace && !nodes.Any(n => n.OpType is "If" or "Loop" or "Scan") ? Needed(nodes, wanted) : null;

        using var graph = new MemoryStream();
        var graphSpan = GraphSpan(model);
        int nodeIndex = 0;
        foreach (var f in Fields(graphSpan))
        {
            if (replace && f.Number == GraphOutput) continue;
            if (f.Number == GraphNode && f.Wire == WireLength && keep is not null && !keep[nodeIndex++]) continue;
            graph.Write(graphSpan.Slice(f.TagStart, f.Start + f.Length - f.TagStart));
        }
        foreach (string name in wanted.Where(n => !existing.Contains(n)))
        {
            var tensorType = Message(w => WriteVarintField(w, 1, ElemFloat));     // TypeProto.Tensor.elem_type
            var type = Message(w => WriteBytesField(w, 1, tensorType));           // TypeProto.tensor_type
            var valueInfo = Message(w =>
            {
                WriteBytesField(w, 1, Encoding.UTF8.GetBytes(name));              // ValueInfoProto.name
                WriteBytesField(w, 2, type);                                      // ValueInfoProto.type
            });
            WriteBytesField(graph, GraphOutput, valueInfo);
        }

        using var result = new MemoryStream(model.Length + (int)graph.Length - graphSpan.Length + 16);
        bool written = false;
        foreach (var f in Fields(model))
        {
            if (f.Number == ModelGraph && f.Wire == WireLength)
            {
                if (!written) WriteBytesField(result, ModelGraph, graph.GetBuffer().AsSpan(0, (int)graph.Length));
                written = true;
                continue;
            }
            result.Write(model.Slice(f.TagStart, f.Start + f.Length - f.TagStart));
        }
        return result.ToArray();
    }

    // Marks the nodes (in graph order) that the tensors 'outputs' depend on, walking back from the last node.
    private static bool[] Needed(IReadOnlyList<OnnxNode> nodes, IEnumerable<string> outputs)
    {
        var needed = outputs.ToHashSet(StringComparer.Ordinal);
        var keep = new bool[nodes.Count];
        for (int i = nodes.Count - 1; i >= 0; i--)
        {
            if (!nodes[i].Outputs.Any(needed.Contains)) continue;
            keep[i] = true;
            needed.UnionWith(nodes[i].Inputs);
        }
        return keep;
    }

    /// <summary>One field of a message: number, wire type, and where its payload lies (for varints and fixed values too).</summary>
    private readonly record struct Field(int Number, int Wire, int TagStart, int Start, int Length);

    private static ReadOnlySpan<byte> GraphSpan(ReadOnlySpan<byte> model)
    {
        foreach (var f in Fields(model))
            if (f.Number == ModelGraph && f.Wire == WireLength) return model.Slice(f.Start, f.Length);
        throw new InvalidDataException("The ONNX model has no graph (ModelProto field 7).");
    }

    private static List<Field> Fields(ReadOnlySpan<byte> message)
    {
        var fields = new List<Field>();
        int pos = 0;
        while (pos < message.Length)
        {
            int tagStart = pos;
            ulong tag = ReadVarint(message, ref pos);
            int number = (int)(tag >> 3), wire = (int)(tag & 7);
            if (number == 0) throw new InvalidDataException($"Malformed protobuf: field number 0 at byte {tagStart}.");
            int start = pos;
            long length = wire switch
            {
                WireVarint => SkipVarint(message, ref pos),
                WireFixed64 => 8,
                WireFixed32 => 4,
                WireLength => (long)ReadVarint(message, ref pos),
                _ => throw new InvalidDataException($"Malformed protobuf: unsupported wire type {wire} at byte {tagStart}."),
            };
            if (wire == WireLength) start = pos;
            if (wire != WireVarint)
            {
                if (length < 0 || start + length > message.Length)
                    throw new InvalidDataException($"Malformed protobuf: field {number} at byte {tagStart} runs past the end of its message.");
                pos = start + (int)length;
            }
            fields.Add(new Field(number, wire, tagStart, start, (int)length));
        }
        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> s, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (pos >= s.Length) throw new InvalidDataException("Malformed protobuf: truncated varint.");
            byte b = s[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw new InvalidDataException("Malformed protobuf: varint longer than 10 bytes.");
    }

    // Skips a varint; returns its length in bytes.
    private static int SkipVarint(ReadOnlySpan<byte> s, ref int pos)
    {
        int start = pos;
        ReadVarint(s, ref pos);
        return pos - start;
    }

    private static void WriteVarint(Stream w, ulong value)
    {
        while (value >= 0x80)
        {
            w.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        w.WriteByte((byte)value);
    }

    private static void WriteVarintField(Stream w, int number, ulong value)
    {
        WriteVarint(w, (ulong)number << 3 | WireVarint);
        WriteVarint(w, value);
    }

    private static void WriteBytesField(Stream w, int number, ReadOnlySpan<byte> payload)
    {
        WriteVarint(w, (ulong)number << 3 | WireLength);
        WriteVarint(w, (ulong)payload.Length);
        w.Write(payload);
    }

    private static byte[] Message(Action<Stream> write)
    {
        using var m = new MemoryStream();
        write(m);
        return m.ToArray();
    }
}
