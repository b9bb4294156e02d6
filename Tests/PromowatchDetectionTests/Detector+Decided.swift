import PromowatchCore
import PromowatchDecision
@testable import PromowatchDetection

extension Detector {
    /// Batch findings through the decision stage, as every run loop does: detection reports,
    /// the decision stage proposes actions.
    func decided() -> [Finding] { DecisionStage(config: config.decision).review(finish()) }
}
