import XCTest
final class PlaceholderPromowatchInputTests: XCTestCase {}
