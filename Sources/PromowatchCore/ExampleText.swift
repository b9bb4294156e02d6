/// A log line made safe to show as an example: printable ASCII kept, every other byte written as
/// `\xNN` (no control, escape, bidi or invalid UTF-8 reaches a terminal, JSON or HTML reader
/// raw), runs of 13 to 19 digits that pass the Luhn check (card numbers) masked to their last
/// four, cut after `maxLength` bytes with `...`.
public enum ExampleText {
    public static func sanitized(_ p: UnsafePointer<UInt8>, _ n: Int, maxLength: Int = 200) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(min(n, maxLength) + 8)
        var i = 0
        while i < n && out.count < maxLength {
            let c = p[i]
            if c >= 0x30 && c <= 0x39 {
                var j = i
                while j < n && p[j] >= 0x30 && p[j] <= 0x39 { j += 1 }
                if j - i >= 13 && j - i <= 19 && luhn(p + i, j - i) {
                    out.append(contentsOf: repeatElement(UInt8(ascii: "*"), count: j - i - 4))
                    out.append(contentsOf: UnsafeBufferPointer(start: p + j - 4, count: 4))
                } else {
                    out.append(contentsOf: UnsafeBufferPointer(start: p + i, count: j - i))
                }
                i = j
                continue
            }
            if c >= 0x20 && c < 0x7F {
                out.append(c)
            } else {
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(c >> 4)], hex[Int(c & 15)]])
            }
            i += 1
        }
        if i < n { out.append(contentsOf: Array("...".utf8)) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The Luhn checksum every payment card number satisfies.
    static func luhn(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var sum = 0
        for k in 0..<n {
            var d = Int(p[n - 1 - k] - 0x30)
            if k % 2 == 1 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
        }
        return sum % 10 == 0
    }

    public static func sanitized(_ s: String, maxLength: Int = 200) -> String {
        var bytes = Array(s.utf8)
        return bytes.withUnsafeMutableBufferPointer { b in
            b.baseAddress.map { sanitized($0, b.count, maxLength: maxLength) } ?? ""
        }
    }
}
