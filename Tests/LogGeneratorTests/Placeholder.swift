import XCTest
final class PlaceholderLogGeneratorTests: XCTestCase {}
