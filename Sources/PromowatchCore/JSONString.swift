/// JSON string quoting (RFC 8259). Strings are escaped so that no byte sequence from a log can
/// break the line or the object: quotes, backslashes, control characters, U+2028/2029; and so
/// that a terminal showing the output obeys nothing in it: C1 controls, bidi overrides and
/// isolates and invisible formatting characters are written as `\uXXXX` (`Invisible`).
public enum JSONString {
    public static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if u.value < 0x20 || u.value == 0x7F || Invisible.contains(u.value) {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}

/// Characters a terminal or text renderer obeys rather than shows: C1 controls, the Arabic
/// letter mark, bidi embeddings, overrides and isolates, zero-width and invisible formatting
/// characters, line and paragraph separators, the byte-order mark and interlinear annotations.
public enum Invisible {
    public static func contains(_ v: UInt32) -> Bool {
        switch v {
        case 0x80...0x9F, 0x061C, 0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2069, 0xFEFF, 0xFFF9...0xFFFB:
            return true
        default:
            return false
        }
    }
}
