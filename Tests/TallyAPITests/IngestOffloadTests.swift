import Foundation
import TallyCompression
import TallyCore
import TallyHTTP
import TallyTestSupport
import Testing

@testable import TallyAPI

/// Large and compressed ingest bodies are decoded and parsed off the event loops, so one such body does not
/// hold up the other connections of the loop that read it. The server runs one event loop, so a body decoded
/// on it would hold every connection.
@Suite(.serialized) struct IngestOffloadTests {
    static let admin = APIFixture.token(["super_admin"])

    /// A request head for `POST /api/v1/events` with a body of `length` bytes.
    static func head(length: Int, contentType: String, encoding: String?) -> [UInt8] {
        var head =
            "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(admin)\r\n"
            + "x-tenantid: \(APIFixture.tenant)\r\nContent-Type: \(contentType)\r\nContent-Length: \(length)\r\n"
        if let encoding { head += "Content-Encoding: \(encoding)\r\n" }
        return Array((head + "\r\n").utf8)
    }

    /// Sends `body` on one connection, then asks `/healthz` on another while the server works on the body:
    /// the health check is answered first, while the body's answer is still to come.
    func expectHealthAnsweredWhileDecoding(
        _ api: APIFixture, body: [UInt8], contentType: String = "application/x-ndjson", encoding: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> LoopbackClient.Response {
        let slow = try api.client()
        try slow.send(IngestOffloadTests.head(length: body.count, contentType: contentType, encoding: encoding) + body)
        // The loop has read the whole body and handed it to the ingest route.
        #expect(Polling.until { api.handler.metrics.ingestBodyBytes == body.count }, sourceLocation: sourceLocation)
        let health = try api.client().request("GET", "/healthz")
        #expect(health.status == 200, sourceLocation: sourceLocation)
        #expect(!slow.isReadable, "the body was answered before the health check", sourceLocation: sourceLocation)
        return try slow.readResponse()
    }

    /// A gzip body of 131,073 empty Huffman blocks takes about a second to decode in a debug build (before it
    /// is refused for holding too many); the loop answers another connection meanwhile.
    @Test func aGzipBodyIsDecodedOffTheEventLoop() throws {
        let limit = 4 << 20
        let api = try APIFixture(maxBodyBytes: limit, eventLoops: 1)
        let blocks = limit / 32 + 1
        let body = DeflateTestEncoder.wrapGzip(DeflateTestEncoder.emptyDynamicBlocks(blocks), crc: 0, length: 0)
        let refused = try expectHealthAnsweredWhileDecoding(api, body: body, encoding: "gzip")
        #expect(refused.status == 400, "\(refused.text)")
        #expect(refused.text.contains("invalid_gzip"), "\(refused.text)")
    }

    /// A JSON body of 15 MiB, malformed at its very end, is parsed whole before it is refused; the loop answers
    /// another connection meanwhile.
    @Test func aLargeJSONBodyIsParsedOffTheEventLoop() throws {
        let api = try APIFixture(eventLoops: 1)
        var body = Array("[".utf8)
        var index = 0
        let padding = String(repeating: "x", count: 200)
        while body.count < 15 << 20 {
            body += Array(
                (APIFixture.event("large-\(index)-" + padding, data: #"{"keyId":"k","status":200}"#) + ",").utf8)
            index += 1
        }
        body += Array("}".utf8)
        let refused = try expectHealthAnsweredWhileDecoding(api, body: body, contentType: "application/json")
        #expect(refused.status == 400, "\(refused.text)")
        #expect(refused.text.contains("malformed_json"), "\(refused.text)")
        #expect(api.engine.eventCount == 0)
    }

    /// A tenant record's gzip body is decoded off the loop too: the same half a second of empty blocks on
    /// `POST /api/v1/admin/tenants`. No metric tells when the server has the body, so the check waits a
    /// fixed 0.3 s for the loop to read 1.5 MB from loopback (milliseconds) before asking `/healthz`.
    @Test func aTenantBodyIsDecodedOffTheEventLoop() throws {
        let limit = 4 << 20
        let api = try APIFixture(maxBodyBytes: limit, eventLoops: 1)
        let body = DeflateTestEncoder.wrapGzip(
            DeflateTestEncoder.emptyDynamicBlocks(limit / 32 + 1), crc: 0, length: 0)
        let slow = try api.client()
        let head =
            "POST /api/v1/admin/tenants HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(IngestOffloadTests.admin)\r\n"
            + "x-tenantid: \(APIFixture.tenant)\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            + "Content-Length: \(body.count)\r\n\r\n"
        try slow.send(Array(head.utf8) + body)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try api.client().request("GET", "/healthz").status == 200)
        #expect(!slow.isReadable, "the tenant body was answered before the health check")
        let refused = try slow.readResponse()
        #expect(refused.status == 400, "\(refused.text)")
        #expect(refused.text.contains("invalid_gzip"), "\(refused.text)")
        #expect(api.engine.eventCount == 0)
    }

    /// With one body worker, a second slow body waits for the first to be decoded: `/metrics` shows it
    /// waiting, its decoding has not begun (its bytes are not counted yet), and both are answered in turn.
    @Test func bodiesBeyondTheWorkersWaitTheirTurn() throws {
        let limit = 4 << 20
        let api = try APIFixture(maxBodyBytes: limit, bodyWorkers: 1)
        let body = DeflateTestEncoder.wrapGzip(
            DeflateTestEncoder.emptyDynamicBlocks(limit / 32 + 1), crc: 0, length: 0)
        let request = IngestOffloadTests.head(length: body.count, contentType: "application/x-ndjson", encoding: "gzip")
        func waiting() throws -> String? {
            let text = try api.client().request("GET", "/metrics").text
            return text.split(separator: "\n").first { $0.hasPrefix("tally_http_bodies_waiting ") }.map(String.init)
        }
        #expect(try waiting() == "tally_http_bodies_waiting 0")
        let first = try api.client()
        try first.send(request + body)
        #expect(Polling.until { api.handler.metrics.ingestBodyBytes == body.count })
        let second = try api.client()
        try second.send(request + body)
        #expect(try Polling.until(seconds: 10) { try waiting() == "tally_http_bodies_waiting 1" })
        #expect(api.handler.metrics.ingestBodyBytes == body.count, "the second body was decoded beside the first")
        #expect(try first.readResponse().status == 400)
        #expect(try second.readResponse().status == 400)
        #expect(api.handler.metrics.ingestBodyBytes == 2 * body.count)
        #expect(try waiting() == "tally_http_bodies_waiting 0")
    }
}
