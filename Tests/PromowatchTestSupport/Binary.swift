import Foundation

/// Runs a built executable of this package (`promowatch`, `loggen`) like a user would: one
/// runner for every end-to-end test.
public enum Binary {
    /// The product next to the test bundle (the build directory), else `.build/debug`.
    public static func url(_ product: String = "promowatch") -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let u = candidate.appendingPathComponent(product)
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        return Repository.root.appendingPathComponent(".build/debug/" + product)
    }

    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Each line of stdout that is a JSON object (`--format json`: findings, steps, the summary).
        public var jsonLines: [[String: Any]] {
            stdout.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }
    }

    /// Runs to the end with `stdin` as input, in the repository's root unless told otherwise.
    public static func run(
        _ args: [String], product: String = "promowatch", stdin: Data? = nil,
        environment: [String: String]? = nil, directory: URL = Repository.root, stdinFile: String? = nil
    ) throws -> Result {
        let p = Process()
        p.executableURL = url(product)
        p.arguments = args
        p.currentDirectoryURL = directory
        if let environment { p.environment = environment }
        let out = Pipe()
        let err = Pipe()
        let inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        // a file as standard input, as `promowatch < file` gives it (a pipe otherwise)
        let file = stdinFile.flatMap { FileHandle(forReadingAtPath: $0) }
        if stdinFile != nil && file == nil { throw CocoaError(.fileReadNoSuchFile) }
        p.standardInput = file ?? inp
        try p.run()
        try? file?.close()
        // read both pipes while writing: a large output must not block the child
        final class Collected: @unchecked Sendable { var out = Data(), err = Data() }
        let collected = Collected()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { collected.out = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { collected.err = err.fileHandleForReading.readDataToEndOfFile() }
        if let d = stdin { try? inp.fileHandleForWriting.write(contentsOf: d) }  // a child that exits early closes it
        try? inp.fileHandleForWriting.close()
        group.wait()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: collected.out, as: UTF8.self),
            stderr: String(decoding: collected.err, as: UTF8.self))
    }

    /// Starts it and returns at once (stop it by pid: `kill(p.processIdentifier, ...)`).
    public static func start(
        _ args: [String], product: String = "promowatch", environment: [String: String]? = nil,
        stdin: Any? = nil, stdout: Any? = nil, stderr: Any? = nil
    ) throws -> Process {
        let p = Process()
        p.executableURL = url(product)
        p.arguments = args
        if let environment { p.environment = environment }
        p.standardInput = stdin ?? FileHandle.nullDevice
        p.standardOutput = stdout ?? FileHandle.nullDevice
        p.standardError = stderr ?? FileHandle.nullDevice
        try p.run()
        return p
    }
}
