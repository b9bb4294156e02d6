import PromowatchCore

/// JSON values as text. Strings are quoted by `JSONString.quoted` (RFC 8259; no byte sequence
/// from a log can break the line or the object).
public enum JSONText {
    /// A finite number as JSON (integers without a fraction; NaN/inf as null).
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let r = (v * 1000).rounded() / 1000
        return r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r)
    }
}

/// A JSON object built key by key, in the order added (`{"id": 3, "kind": "x"}`).
public struct JSONObject {
    private var parts: [String] = []
    public init() {}

    public mutating func add(_ key: String, _ value: String?) {
        parts.append(JSONString.quoted(key) + ": " + (value.map(JSONString.quoted) ?? "null"))
    }
    public mutating func add(_ key: String, _ value: Double) {
        parts.append(JSONString.quoted(key) + ": " + JSONText.number(value))
    }
    public mutating func add(_ key: String, _ value: Int64) {
        parts.append(JSONString.quoted(key) + ": " + String(value))
    }
    public mutating func add(_ key: String, _ value: Bool) {
        parts.append(JSONString.quoted(key) + ": " + (value ? "true" : "false"))
    }

    /// A value already rendered as JSON (an array of objects built the same way).
    mutating func addRaw(_ key: String, _ json: String) {
        parts.append(JSONString.quoted(key) + ": " + json)
    }

    public var text: String { "{" + parts.joined(separator: ", ") + "}" }
}

/// Makes a value safe to print on a terminal: control characters (ESC, CR, newline, ...)
/// and other invisible format characters are shown escaped instead of being interpreted.
public enum TerminalText {
    public static func safe(_ s: String, maxLength: Int = 80) -> String {
        var out = ""
        var count = 0
        for u in s.unicodeScalars {
            if count >= maxLength {
                out += "…"
                break
            }
            switch u.value {
            case 0x00..<0x20, 0x7F:
                out += "\\u{" + String(u.value, radix: 16) + "}"
            case _ where Invisible.contains(u.value):
                out += "\\u{" + String(u.value, radix: 16) + "}"
            default:
                out.unicodeScalars.append(u)
            }
            count += 1
        }
        return out
    }
}
