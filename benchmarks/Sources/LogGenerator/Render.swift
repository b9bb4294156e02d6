import PromowatchCore

/// Renders records as bytes in a payload format and framing.
public struct Renderer {
    public var format: PayloadFormat
    public var framing: Framing
    public var podNames: [String]
    /// With `.kratos`: write values as go-kratos' std logger does (`%v`, never quoted), and no
    /// empty `msg` (the middleware logs none; the zap adapter's JSON writes `"msg":""`).
    public var stdLogger = false

    public init(format: PayloadFormat, framing: Framing, pods: Int = 3) {
        self.format = format
        self.framing = framing
        podNames = (0..<max(1, pods)).map {
            "checkout-7d9f8c6b5-\(["x2kqp", "m8zrt", "c4wnd", "p9ldv", "h7tqs", "b3vfe"][$0 % 6])\($0 / 6 == 0 ? "" : String($0 / 6))"
        }
    }

    // MARK: payloads

    public static func jsonString(_ s: String, into o: inout [UInt8]) {
        quoted(s, into: &o, json: true)
    }

    /// `s` in double quotes with `"`, `\`, newline, tab and carriage return escaped; `json`: other
    /// control characters as `\u00XX` too (and `é` as `\u00e9`, to exercise the parser's escapes);
    /// else (logfmt) they are written as they are.
    static func quoted(_ s: String, into o: inout [UInt8], json: Bool) {
        o.append(0x22)
        for u in s.unicodeScalars {
            switch u {
            case "\"":
                o.append(0x5C)
                o.append(0x22)
            case "\\":
                o.append(0x5C)
                o.append(0x5C)
            case "\n":
                o.append(0x5C)
                o.append(UInt8(ascii: "n"))
            case "\t":
                o.append(0x5C)
                o.append(UInt8(ascii: "t"))
            case "\r":
                o.append(0x5C)
                o.append(UInt8(ascii: "r"))
            default:
                if json && u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    o.append(contentsOf: Array(("\\u" + String(repeating: "0", count: 4 - h.count) + h).utf8))
                } else if json && u.value == 0xE9 {
                    o.append(contentsOf: Array("\\u00e9".utf8))  // exercise \u escapes
                } else {
                    o.append(contentsOf: Array(String(u).utf8))
                }
            }
        }
        o.append(0x22)
    }

    static func jsonValue(_ v: Value, into o: inout [UInt8]) {
        switch v {
        case .string(let s): jsonString(s, into: &o)
        case .number(let n): o.append(contentsOf: Array(n.utf8))
        case .bool(let b): o.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .object(let fields):
            o.append(UInt8(ascii: "{"))
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { o.append(UInt8(ascii: ",")) }
                jsonString(k, into: &o)
                o.append(UInt8(ascii: ":"))
                jsonValue(v, into: &o)
            }
            o.append(UInt8(ascii: "}"))
        }
    }

    static func logfmtValue(_ v: Value, into o: inout [UInt8]) {
        switch v {
        case .number(let n): o.append(contentsOf: Array(n.utf8))
        case .bool(let b): o.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .object(let fields):
            // logfmt has no nesting: loggers print a quoted JSON-ish rendering
            var inner: [UInt8] = []
            jsonValue(.object(fields), into: &inner)
            logfmtValue(.string(String(decoding: inner, as: UTF8.self)), into: &o)
        case .string(let s):
            let needsQuote =
                s.isEmpty
                || s.unicodeScalars.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value < 0x20 }
            if !needsQuote {
                o.append(contentsOf: Array(s.utf8))
                return
            }
            quoted(s, into: &o, json: false)
        }
    }

    /// A value as Go's `%v` prints it: strings raw, maps as `map[k:v ...]`.
    static func goValue(_ v: Value, into o: inout [UInt8]) {
        switch v {
        case .string(let s): o.append(contentsOf: Array(s.utf8))
        case .number(let n): o.append(contentsOf: Array(n.utf8))
        case .bool(let b): o.append(contentsOf: Array((b ? "true" : "false").utf8))
        case .object(let fields):
            o.append(contentsOf: Array("map[".utf8))
            for (i, (k, v)) in fields.sorted(by: { $0.0 < $1.0 }).enumerated() {
                if i > 0 { o.append(0x20) }
                o.append(contentsOf: Array(k.utf8))
                o.append(UInt8(ascii: ":"))
                goValue(v, into: &o)
            }
            o.append(UInt8(ascii: "]"))
        }
    }

    /// The payload of a structured record.
    public func payload(_ r: Record) -> [UInt8] {
        var o: [UInt8] = []
        o.reserveCapacity(256)
        switch format {
        case .json:
            o.append(UInt8(ascii: "{"))
            Renderer.jsonString("level", into: &o)
            o.append(UInt8(ascii: ":"))
            Renderer.jsonString(r.level.lowercased(), into: &o)
            for (k, v) in r.fields {
                o.append(UInt8(ascii: ","))
                Renderer.jsonString(k, into: &o)
                o.append(UInt8(ascii: ":"))
                Renderer.jsonValue(v, into: &o)
            }
            o.append(UInt8(ascii: "}"))
        case .logfmt, .kratos:
            if format == .kratos {
                o.append(contentsOf: Array(r.level.utf8))
                o.append(0x20)
            } else {
                o.append(contentsOf: Array("level=\(r.level.lowercased()) ".utf8))
            }
            var first = true
            for (k, v) in r.fields {
                if stdLogger, k == "msg", case .string("") = v { continue }
                if !first { o.append(0x20) }
                first = false
                o.append(contentsOf: Array(k.utf8))
                o.append(UInt8(ascii: "="))
                if stdLogger { Renderer.goValue(v, into: &o) } else { Renderer.logfmtValue(v, into: &o) }
            }
        }
        return o
    }

    // MARK: framing

    /// Appends the physical lines of one record to `out`; returns how many lines were written.
    @discardableResult
    public func render(_ r: Record, rng: inout SplitMix64, into out: inout [UInt8]) -> Int {
        if let plain = r.plainLines {
            for l in plain { frame(Array(l.utf8), r, partialSplit: false, rng: &rng, into: &out) }
            return plain.count
        }
        return frame(payload(r), r, partialSplit: true, rng: &rng, into: &out)
    }

    @discardableResult
    func frame(_ payload: [UInt8], _ r: Record, partialSplit: Bool, rng: inout SplitMix64, into out: inout [UInt8])
        -> Int
    {
        let ts = Array(EventTime.rfc3339(r.time, fractionDigits: 9).utf8)
        let prefix = Array("[pod/\(podNames[r.pod % podNames.count])/checkout] ".utf8)
        switch framing {
        case .plain:
            out += payload
        case .prefix:
            out += prefix
            out += payload
        case .timestamps:
            out += ts
            out.append(0x20)
            out += payload
        case .prefixTimestamps:
            out += prefix
            out += ts
            out.append(0x20)
            out += payload
        case .timestampsPrefix:
            out += ts
            out.append(0x20)
            out += prefix
            out += payload
        case .cri:
            // split some records into P parts joined by a final F, as containerd does past 16 KiB
            var parts: [ArraySlice<UInt8>] = [payload[...]]
            if partialSplit && payload.count > 8 && rng.chance(0.2) {
                let a = 1 + rng.int(payload.count - 2)
                parts = [payload[..<a], payload[a...]]
                if rng.chance(0.5), parts[1].count > 2 {
                    let b = a + 1 + rng.int(parts[1].count - 1)
                    parts = [payload[..<a], payload[a..<b], payload[b...]]
                }
            }
            for (i, part) in parts.enumerated() {
                out += ts
                out += Array(" stdout \(i == parts.count - 1 ? "F" : "P") ".utf8)
                out += part
                if i < parts.count - 1 { out.append(0x0A) }
            }
            out.append(0x0A)
            return parts.count
        case .docker:
            var s: [UInt8] = []
            Renderer.jsonString(String(decoding: payload, as: UTF8.self) + "\n", into: &s)
            out += Array("{\"log\":".utf8)
            out += s
            out += Array(",\"stream\":\"stdout\",\"time\":\"".utf8)
            out += ts
            out += Array("\"}".utf8)
        }
        out.append(0x0A)
        return 1
    }
}
