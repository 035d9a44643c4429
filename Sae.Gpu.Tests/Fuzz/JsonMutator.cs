using System.Text.Json;
using System.Text.Json.Nodes;

namespace SaeGpu.Tests.Fuzz;

/// <summary>
/// JSON-aware edits of a JSON text: one value (any depth, the root included) replaced by null, a string (some of them
/// dtype and architecture names), a huge, small, negative or fractional number, an array, an object, true or false, or by
/// another value of the same document; a key deleted; or a key written twice. The result is written
/// compactly (duplicate keys included, which <see cref="JsonObject"/> itself cannot hold).
/// </summary>
public static class JsonMutator
{
    // Where a value sits: a property of an object, an element of an array, or the root (no parent).
    private readonly record struct Slot(JsonNode? Parent, string? Key, int Index);

    private static readonly string[] Replacements =
        ["null", "\"fuzz\"", "\"\"", "1e300", "-1e300", "123456789012345678901234567890", "9223372036854775807", "2147483648", "-1", "0", "1", "2", "3", "7", "64",
         "1.5", "-0.0", "[1, 2]", "[]", "{}", "{\"a\": 1}", "true", "false",
         "\"F16\"", "\"BF16\"", "\"I32\"", "\"F64\"", "\"standard\"", "\"topk\"", "\"jumprelu\"", "\"gated\"", "\"5.0.0\""];

    /// <summary>One edit of <paramref name="utf8"/>, or null when it is not (or no longer) valid JSON.</summary>
    public static byte[]? Mutate(byte[] utf8, Random rng)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(utf8);
            var slots = new List<Slot> { new(null, null, -1) };
            Collect(root, slots);
            var slot = slots[rng.Next(slots.Count)];
            return rng.Next(6) switch
            {
                0 when slot.Parent is not null => Write(Delete(root, slot), default),
                1 when slot.Parent is JsonObject => Write(root, slot),
                2 => Write(Replace(root, slot, ValueAt(slots[rng.Next(slots.Count)], root)), default),
                _ => Write(Replace(root, slot, Replacements[rng.Next(Replacements.Length)]), default),
            };
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            return null; // earlier byte mutations broke the text (or left duplicate keys JsonNode refuses)
        }
    }

    private static void Collect(JsonNode? node, List<Slot> slots)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (key, value) in o)
                {
                    slots.Add(new(o, key, -1));
                    Collect(value, slots);
                }
                break;
            case JsonArray a:
                for (int i = 0; i < a.Count; i++)
                {
                    slots.Add(new(a, null, i));
                    Collect(a[i], slots);
                }
                break;
        }
    }

    private static JsonNode? Delete(JsonNode? root, Slot slot)
    {
        if (slot.Parent is JsonObject o) o.Remove(slot.Key!);
        else ((JsonArray)slot.Parent!).RemoveAt(slot.Index);
        return root;
    }

    // The JSON text of the value at `slot` (another value of the same document, to move elsewhere).
    private static string ValueAt(Slot slot, JsonNode? root) => (slot.Parent switch
    {
        null => root,
        JsonObject o => o[slot.Key!],
        _ => ((JsonArray)slot.Parent)[slot.Index],
    })?.ToJsonString() ?? "null";

    private static JsonNode? Replace(JsonNode? root, Slot slot, string json)
    {
        var value = JsonNode.Parse(json);
        switch (slot.Parent)
        {
            case null: return value;
            case JsonObject o: o[slot.Key!] = value; break;
            default: ((JsonArray)slot.Parent)[slot.Index] = value; break;
        }
        return root;
    }

    // Compact UTF-8 text of `root`, with the property at `twice` (if any) written twice.
    private static byte[] Write(JsonNode? root, Slot twice)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer)) Write(w, root, twice);
        return buffer.ToArray();
    }

    private static void Write(Utf8JsonWriter w, JsonNode? node, Slot twice)
    {
        switch (node)
        {
            case null:
                w.WriteNullValue();
                break;
            case JsonObject o:
                w.WriteStartObject();
                foreach (var (key, value) in o)
                    for (int n = ReferenceEquals(o, twice.Parent) && key == twice.Key ? 2 : 1; n > 0; n--)
                    {
                        w.WritePropertyName(key);
                        Write(w, value, twice);
                    }
                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                foreach (var item in a) Write(w, item, twice);
                w.WriteEndArray();
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }
}
