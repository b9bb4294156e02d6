import XCTest
final class PlaceholderPromowatchCoreTests: XCTestCase {}
