/// A configuration problem (promowatch's YAML, a kubeconfig, an option's value), naming the file
/// and the key (`coupon_abuse.min_redemptions`) when there are any.
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var key: String
    public var message: String

    public init(file: String = "", key: String = "", message: String) {
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        (file.isEmpty ? "" : file + ": ") + (key.isEmpty ? "" : "'\(key)': ") + message
    }
}
