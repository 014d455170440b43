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

    /// A gzip body of one empty dynamic-Huffman block more than a body limit of `limit` bytes allows: it is
    /// decoded whole (about a second in a debug build for 4 MiB) and then refused with 400 `invalid_gzip`.
    static func tooManyBlocks(limit: Int) -> [UInt8] {
        DeflateTestEncoder.wrapGzip(DeflateTestEncoder.emptyDynamicBlocks(limit / 32 + 1), crc: 0, length: 0)
    }

    /// The gauge line of `/metrics` that counts the bodies waiting for a worker.
    static func waiting(_ api: APIFixture) throws -> String? {
        let text = try api.client().request("GET", "/metrics").text
        return text.split(separator: "\n").first { $0.hasPrefix("tally_http_bodies_waiting ") }.map(String.init)
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
        let body = IngestOffloadTests.tooManyBlocks(limit: limit)
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

    /// A tenant record's gzip body is decoded off the loop too. With one worker held by an ingest body, the
    /// tenant body waits for it on the queue (the gauge says 1: it was not decoded on the loop), and the
    /// loop answers `/healthz` meanwhile.
    @Test func aTenantBodyIsDecodedOffTheEventLoop() throws {
        let limit = 4 << 20
        let api = try APIFixture(maxBodyBytes: limit, eventLoops: 1, bodyWorkers: 1)
        let body = IngestOffloadTests.tooManyBlocks(limit: limit)
        let ingest = try api.client()
        try ingest.send(
            IngestOffloadTests.head(length: body.count, contentType: "application/x-ndjson", encoding: "gzip") + body)
        #expect(Polling.until { api.handler.metrics.ingestBodyBytes == body.count })
        let tenant = try api.client()
        let head =
            "POST /api/v1/admin/tenants HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer \(IngestOffloadTests.admin)\r\n"
            + "x-tenantid: \(APIFixture.tenant)\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            + "Content-Length: \(body.count)\r\n\r\n"
        try tenant.send(Array(head.utf8) + body)
        #expect(try Polling.until(seconds: 10) { try IngestOffloadTests.waiting(api) == "tally_http_bodies_waiting 1" })
        #expect(try api.client().request("GET", "/healthz").status == 200)
        #expect(!tenant.isReadable, "the tenant body was answered before the health check")
        #expect(try ingest.readResponse().status == 400)
        let refused = try tenant.readResponse()
        #expect(refused.status == 400, "\(refused.text)")
        #expect(refused.text.contains("invalid_gzip"), "\(refused.text)")
        #expect(api.engine.eventCount == 0)
    }

    /// With one body worker, a second slow body waits for the first to be decoded: `/metrics` shows it
    /// waiting, its decoding has not begun (its bytes are not counted yet), and both are answered in turn.
    @Test func bodiesBeyondTheWorkersWaitTheirTurn() throws {
        let limit = 4 << 20
        let api = try APIFixture(maxBodyBytes: limit, bodyWorkers: 1)
        let body = IngestOffloadTests.tooManyBlocks(limit: limit)
        let request = IngestOffloadTests.head(length: body.count, contentType: "application/x-ndjson", encoding: "gzip")
        let waiting = { try IngestOffloadTests.waiting(api) }
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

    /// An event sent without a time takes the time its request was routed, not the time a worker took it up:
    /// a large body that waited behind a slow one is stamped with a time from before the slow one was done.
    @Test func anEventWithoutATimeTakesTheTimeItsRequestWasRouted() throws {
        let limit = 4 << 20
        let api = try APIFixture(maxBodyBytes: limit, bodyWorkers: 1)
        let slowBody = IngestOffloadTests.tooManyBlocks(limit: limit)
        let slow = try api.client()
        try slow.send(
            IngestOffloadTests.head(length: slowBody.count, contentType: "application/x-ndjson", encoding: "gzip")
                + slowBody)
        #expect(Polling.until { api.handler.metrics.ingestBodyBytes == slowBody.count })
        // Over 64 KiB, so it is parsed by the (busy) worker; no event has a time.
        let body = Array(
            (0..<600).map {
                #"{"id":"untimed-\#($0)","type":"api.call","tenantId":"\#(APIFixture.tenant)","data":{"keyId":"k","status":200}}"#
                    + "\n"
            }
            .joined().utf8)
        #expect(body.count > TallyAPIHandler.inlineBodyBytes)
        let waiting = try api.client()
        try waiting.send(
            IngestOffloadTests.head(length: body.count, contentType: "application/x-ndjson", encoding: nil) + body)
        #expect(try Polling.until(seconds: 10) { try IngestOffloadTests.waiting(api) == "tally_http_bodies_waiting 1" })
        // Routed by now (it waits on the queue), while the worker has a second or so of the slow body left.
        let routedBy = api.engine.configuration.clock()
        #expect(try slow.readResponse().status == 400)
        #expect(try waiting.readResponse().status == 200)
        let stored = try #require(try api.engine.store.event(at: 0))
        #expect(stored.event.id == "untimed-0")
        #expect(stored.event.time <= routedBy, "stamped when a worker took it up")
    }
}
