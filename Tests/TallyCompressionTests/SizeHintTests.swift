import TallyTestSupport
import Testing

@testable import TallyCompression

/// The first allocation follows the trailer's ISIZE only as far as the input could decode to.
@Suite struct SizeHintTests {
    @Test func theSizeHintIsCappedByWhatTheInputCouldHold() {
        let empty = DeflateTestEncoder.wrapGzip(DeflateTestEncoder.emptyDynamicBlocks(0), crc: 0, length: 16 << 20)
        let hint = empty.withUnsafeBufferPointer { GzipDecoder.sizeHint($0) }
        #expect(hint == empty.count * 1032 && hint < 16 << 20)
        let honest = DeflateTestEncoder.gzip(Array(repeating: 7, count: 5000))
        #expect(honest.withUnsafeBufferPointer { GzipDecoder.sizeHint($0) } == 5000)
    }
}
