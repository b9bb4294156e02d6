import PromowatchEngine

extension Analyzer {
    /// Feeds `bytes` in blocks of whole lines of about `blockSize` bytes, as the block reader
    /// would, calling `afterEach` after every block.
    func feed(_ bytes: [UInt8], blockSize: Int = 1 << 22, afterEach: () -> Void = {}) {
        bytes.withUnsafeBufferPointer { b in
            var start = 0
            while start < b.count {
                var end = min(b.count, start + blockSize)
                while end < b.count && b[end - 1] != 0x0A { end += 1 }
                process(UnsafeBufferPointer(rebasing: b[start..<end]))
                afterEach()
                start = end
            }
        }
    }
}
