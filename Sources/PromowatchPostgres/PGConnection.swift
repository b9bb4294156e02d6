import CLibPQ
import Foundation

/// One libpq connection, shared by the state store and the diagnostics of the checkout's
/// database. Every statement with values is parameterized (`PQexecParams`): a value such as a
/// coupon code or an application name never becomes SQL text.
public final class PGConnection {
    private var conn: OpaquePointer?
    /// The connection string with any password replaced by `***`, for messages.
    public let redactedTarget: String

    /// `conninfo`: a libpq URI or keyword string; the standard `PG*` variables fill the rest.
    public init(conninfo: String) throws {
        redactedTarget = redactPassword(conninfo)
        conn = PQconnectdb(conninfo)
        guard let c = conn, PQstatus(c) == CONNECTION_OK else {
            let msg = conn.map { String(cString: PQerrorMessage($0)) } ?? "out of memory"
            if let c = conn { PQfinish(c) }
            conn = nil
            throw PGError(
                kind: .connectionLost, sqlstate: "",
                message:
                    "cannot connect to PostgreSQL (\(redactedTarget)): \(redactPassword(msg.trimmingCharacters(in: .whitespacesAndNewlines)))"
            )
        }
    }

    deinit { if let c = conn { PQfinish(c) } }

    /// A statement parameter: text (or NULL), or bytes sent in binary format (BYTEA).
    public enum Param {
        case text(String?)
        case bytes([UInt8])
    }

    /// Runs one statement with text parameters; returns rows of optional text values.
    @discardableResult
    public func exec(_ sql: String, _ params: [String?] = []) throws -> [[String?]] {
        try exec(sql, params: params.map { .text($0) })
    }

    @discardableResult
    public func exec(_ sql: String, params: [Param]) throws -> [[String?]] {
        guard let c = conn else {
            throw PGError(kind: .connectionLost, sqlstate: "", message: "not connected to PostgreSQL")
        }
        var values: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        for p in params {
            switch p {
            case .text(let s):
                values.append(s.map { strdup($0) } ?? nil)
                lengths.append(0)
                formats.append(0)
            case .bytes(let b):
                let m = malloc(max(1, b.count))!.assumingMemoryBound(to: CChar.self)
                b.withUnsafeBytes { if let base = $0.baseAddress { memcpy(m, base, b.count) } }
                values.append(m)
                lengths.append(Int32(b.count))
                formats.append(1)
            }
        }
        defer { for p in values { free(p) } }
        let result: OpaquePointer? = values.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: UnsafePointer<CChar>?.self) { v in
                PQexecParams(c, sql, Int32(params.count), nil, v.baseAddress, lengths, formats, 0)
            }
        }
        guard let r = result else { throw PGConnection.error(c, nil) }
        defer { PQclear(r) }
        let st = PQresultStatus(r)
        guard st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK else { throw PGConnection.error(c, r) }
        var rows: [[String?]] = []
        let n = PQntuples(r)
        let f = PQnfields(r)
        for i in 0..<n {
            var row: [String?] = []
            for j in 0..<f { row.append(PQgetisnull(r, i, j) == 1 ? nil : String(cString: PQgetvalue(r, i, j))) }
            rows.append(row)
        }
        return rows
    }

    /// A fixed, parameterless script of several statements (migrations only): `PQexec`.
    public func execScript(_ sql: String) throws {
        guard let c = conn else {
            throw PGError(kind: .connectionLost, sqlstate: "", message: "not connected to PostgreSQL")
        }
        guard let r = PQexec(c, sql) else { throw PGConnection.error(c, nil) }
        defer { PQclear(r) }
        let st = PQresultStatus(r)
        guard st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK else { throw PGConnection.error(c, r) }
    }

    /// Connects again with the same parameters (after the server went away).
    public func reset() throws {
        guard let c = conn else {
            throw PGError(kind: .connectionLost, sqlstate: "", message: "not connected to PostgreSQL")
        }
        PQreset(c)
        guard PQstatus(c) == CONNECTION_OK else {
            throw PGError(
                kind: .connectionLost, sqlstate: "",
                message:
                    "cannot reconnect to PostgreSQL (\(redactedTarget)): \(redactPassword(String(cString: PQerrorMessage(c)).trimmingCharacters(in: .whitespacesAndNewlines)))"
            )
        }
    }

    /// The error of a failed command, classified by the connection's state and the SQLSTATE:
    /// no SQLSTATE (libpq's own error: the server closed the connection, a broken socket), class
    /// 08 or an operator intervention (57P): connection lost; 23 and 40: constraint or
    /// serialization; 42501: a privilege the role lacks.
    static func error(_ c: OpaquePointer, _ r: OpaquePointer?) -> PGError {
        let raw = r.map { String(cString: PQresultErrorMessage($0)) } ?? String(cString: PQerrorMessage(c))
        let msg = "PostgreSQL: " + redactPassword(raw.trimmingCharacters(in: .whitespacesAndNewlines))
        let state = r.flatMap { PQresultErrorField($0, Int32(UInt8(ascii: "C"))) }.map { String(cString: $0) } ?? ""
        if PQstatus(c) == CONNECTION_BAD || state.isEmpty || state.hasPrefix("08") || state.hasPrefix("57P") {
            return PGError(kind: .connectionLost, sqlstate: state, message: msg)
        }
        if state.hasPrefix("23") || state.hasPrefix("40") {
            return PGError(kind: .constraint, sqlstate: state, message: msg)
        }
        if state == "42501" { return PGError(kind: .permissionDenied, sqlstate: state, message: msg) }
        return PGError(kind: .failed, sqlstate: state, message: msg)
    }
}

/// A libpq or server error, with its SQLSTATE and a message that never carries a password.
public struct PGError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case connectionLost, constraint, permissionDenied, failed }
    public var kind: Kind
    public var sqlstate: String
    public var message: String
    public var description: String { message }
}

/// Replaces the password in a libpq connection string (URI or keyword form) with `***`.
public func redactPassword(_ s: String) -> String {
    var out = s
    // postgresql://user:secret@host -> postgresql://user:***@host
    if let scheme = out.range(of: "://"), let at = out[scheme.upperBound...].firstIndex(of: "@") {
        let userinfo = out[scheme.upperBound..<at]
        if let colon = userinfo.firstIndex(of: ":") { out.replaceSubrange(out.index(after: colon)..<at, with: "***") }
    }
    // password=secret (keyword form, also inside URI query strings)
    var result = ""
    var rest = Substring(out)
    while let r = rest.range(of: "password=") {
        result += rest[..<r.upperBound] + "***"
        rest = rest[r.upperBound...]
        if let end = rest.firstIndex(where: { $0 == " " || $0 == "&" }) { rest = rest[end...] } else { rest = "" }
    }
    return result + rest
}
