import XCTest
final class PlaceholderPromowatchEngineTests: XCTestCase {}
