import XCTest
final class PlaceholderPromowatchParsingTests: XCTestCase {}
