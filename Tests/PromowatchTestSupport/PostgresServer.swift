import XCTest
import Foundation

/// A PostgreSQL server of a test's own (to stop and restart it), through
/// scripts/postgres-test-server.sh.
extension XCTestCase {
    /// scripts/postgres-test-server.sh, output to a file. Spawned and reaped with posix_spawn and
    /// waitpid: Foundation's Process did not notice this script's exit (runuser, then a daemon
    /// left running) and waited forever.
    @discardableResult
    public func pgServer(_ args: [String]) throws -> String {
        let out = NSTemporaryDirectory() + "pw-pgserver-\(UUID().uuidString).out"
        defer { try? FileManager.default.removeItem(atPath: out) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ["/bin/bash", Repository.path("scripts/postgres-test-server.sh")] + args
        let cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/bin/bash", &actions, nil, cargs, environ)
        guard rc == 0 else { throw NSError(domain: "spawn", code: Int(rc)) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    /// Starts a server (`stop` it with `pgServer(["stop", dir])`); without PostgreSQL: skip, or fail in CI.
    public func startOwnPostgres() throws -> (url: String, dir: String) {
        _ = try TestDependency.databaseURL()
        let started = try pgServer(["start"])
        func value(_ name: String) -> String? {
            started.split(separator: "\n").first { $0.hasPrefix("export \(name)=") }
                .map {
                    String($0.dropFirst("export \(name)=".count)).trimmingCharacters(
                        in: CharacterSet(charactersIn: "'"))
                }
        }
        return (
            try XCTUnwrap(value("PROMOWATCH_TEST_DATABASE_URL"), started), try XCTUnwrap(value("PROMOWATCH_TEST_PGDIR"))
        )
    }
}
