import Foundation
import XCTest

/// What a test needs from the machine (PostgreSQL, kubectl, openssl, python3). Missing, it is a
/// skip on a developer's machine and a failure in CI (`CI` set): a green CI run has run them all.
public enum TestDependency {
    public static var isCI: Bool {
        let v = ProcessInfo.processInfo.environment["CI"] ?? ""
        return !v.isEmpty && v != "0" && v.lowercased() != "false"
    }

    /// The error to throw when `what` is missing.
    public static func missing(_ what: String) -> Error {
        isCI ? Missing(what: what) : XCTSkip("\(what) (CI=true makes this a failure)")
    }

    /// Throws `missing` unless `tool` is an executable on PATH.
    public static func require(tool: String) throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(tool)") {
            return
        }
        throw missing("\(tool) is not installed (scripts/test.sh installs it)")
    }

    /// The PostgreSQL server the test command started (`PROMOWATCH_TEST_DATABASE_URL`).
    public static func databaseURL() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["PROMOWATCH_TEST_DATABASE_URL"], !url.isEmpty else {
            throw missing("no PostgreSQL: run the suite through scripts/test.sh, which starts one")
        }
        return url
    }

    struct Missing: Error, CustomStringConvertible {
        var what: String
        var description: String { "missing test dependency in CI: \(what)" }
    }
}

/// The repository's root directory.
public enum Repository {
    public static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    public static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}
