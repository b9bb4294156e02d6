import XCTest
final class PlaceholderPromowatchReportTests: XCTestCase {}
