/// A failed Kubernetes API call: the HTTP code, and the `reason` and `message` of the API's
/// `Status` body when there was one (else the transport problem).
public struct KubeError: Error, CustomStringConvertible, Equatable, Sendable {
    public var code: Int
    /// The Status `reason` (`Conflict`, `Forbidden`, `NotFound`, ...) or a transport problem.
    public var reason: String
    public var message: String

    public init(code: Int, reason: String, message: String) {
        self.code = code
        self.reason = reason
        self.message = message
    }

    public var isConflict: Bool { code == 409 }

    public var description: String {
        var s = "\(reason) (\(code)): \(message)"
        if code == 403 { s += " — grant it in config/kubernetes/role.yaml (see docs/remediation.md)" }
        return s
    }
}
