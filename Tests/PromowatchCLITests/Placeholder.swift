import XCTest
final class PlaceholderPromowatchCLITests: XCTestCase {}
