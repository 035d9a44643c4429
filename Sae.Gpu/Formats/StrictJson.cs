using System.Text.Json;
using System.Text.Json.Nodes;

namespace SaeGpu.Formats;

/// <summary>
/// JSON read from files, strictly: parsed eagerly (duplicate keys, invalid UTF-8 in names and strings and malformed text
/// fail at once, not on first access) and read through typed accessors that fail with a <see cref="SaeFormatException"/> naming the file and
/// field when a value has the wrong JSON type — never with an <see cref="InvalidOperationException"/> from a cast.
/// </summary>
internal static class StrictJson
{
    private static readonly JsonDocumentOptions Options = new() { AllowDuplicateProperties = false, MaxDepth = 64 };

    /// <summary>The JSON object in <paramref name="utf8"/>, <paramref name="what"/> of file <paramref name="path"/>.</summary>
    public static JsonObject ParseObject(ReadOnlyMemory<byte> utf8, string path, string what = "the JSON")
    {
        try
        {
            var node = JsonNode.Parse(utf8.Span, null, Options);
            Materialize(node);
            return node as JsonObject ?? throw new SaeFormatException(path, $"{what} is not a JSON object.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or ArgumentException)
        {
            throw new SaeFormatException(path, $"{what} is not valid JSON ({e.Message})", inner: e);
        }
    }

    /// <summary>The JSON object in the text <paramref name="json"/>.</summary>
    public static JsonObject ParseObject(string json, string path, string what = "the JSON") =>
        ParseObject(System.Text.Encoding.UTF8.GetBytes(json), path, what);

    /// <summary>The string at <paramref name="key"/> of <paramref name="o"/>: null when absent or JSON null.</summary>
    public static string? String(JsonObject? o, string key, string path) => o?[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out string? s) => s,
        var other => throw WrongType(path, key, "a string", other),
    };

    /// <summary>The integer at <paramref name="key"/> of <paramref name="o"/> (it must fit an int32): null when absent or JSON null.</summary>
    public static int? Int(JsonObject? o, string key, string path) => Int(o?[key], key, path);

    /// <summary><paramref name="node"/> (the value of <paramref name="field"/>) as an int32: null for JSON null.</summary>
    public static int? Int(JsonNode? node, string field, string path) => node switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out int i) => i,
        var other => throw WrongType(path, field, "an integer in [-2^31, 2^31)", other),
    };

    /// <summary>The boolean at <paramref name="key"/> of <paramref name="o"/>: null when absent or JSON null.</summary>
    public static bool? Bool(JsonObject? o, string key, string path) => o?[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue(out bool b) => b,
        var other => throw WrongType(path, key, "true or false", other),
    };

    /// <summary>The object at <paramref name="key"/> of <paramref name="o"/>: null when absent or JSON null.</summary>
    public static JsonObject? Object(JsonObject? o, string key, string path) => o?[key] switch
    {
        null => null,
        JsonObject x => x,
        var other => throw WrongType(path, key, "an object", other),
    };

    /// <summary>The array at <paramref name="key"/> of <paramref name="o"/>: null when absent or JSON null.</summary>
    public static JsonArray? Array(JsonObject? o, string key, string path) => o?[key] switch
    {
        null => null,
        JsonArray x => x,
        var other => throw WrongType(path, key, "an array", other),
    };

    private static SaeFormatException WrongType(string path, string field, string expected, JsonNode node) =>
        new(path, $"expected {expected}, got {Truncate(node.ToJsonString())}.", field: field);

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..57] + "...";

    private static void Materialize(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, v) in o) Materialize(v);
                break;
            case JsonArray a:
                foreach (var v in a) Materialize(v);
                break;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String:
                v.GetValue<string>(); // decodes it now: invalid UTF-8 inside a string fails here, not on first use
                break;
        }
    }
}
