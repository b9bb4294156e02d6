/// One episode of a finding's cause, from the finding it raised to the last window in which the
/// cause still held (the detector does not repeat a finding while its cause persists). Incidents
/// stay open while an episode of theirs is active (`IncidentTracker`).
public struct EpisodeSpan: Sendable, Equatable {
    public let category: Category
    public let subject: Subject
    /// The raising finding's time (ns).
    public let start: Int64
    /// The end of the last window in which the cause held (ns).
    public var last: Int64

    public init(category: Category, subject: Subject, start: Int64, last: Int64) {
        self.category = category
        self.subject = subject
        self.start = start
        self.last = last
    }
}
