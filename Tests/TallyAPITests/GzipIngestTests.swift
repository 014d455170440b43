import TallyCompression
import TallyCore
import TallyHTTP
import TallyTestSupport
import Testing

@testable import TallyAPI

/// `Content-Encoding: gzip` on `POST /api/v1/events`, end to end against the real server.
@Suite(.serialized) struct GzipIngestTests {
    static let admin = APIFixture.token(["super_admin"])

    func post(
        _ api: APIFixture, _ body: [UInt8], encoding: String?, contentType: String = "application/x-ndjson",
        to path: String = "/api/v1/events"
    ) throws -> LoopbackClient.Response {
        var headers = [
            ("Authorization", "Bearer \(GzipIngestTests.admin)"), ("x-tenantid", APIFixture.tenant),
            ("Content-Type", contentType),
        ]
        if let encoding { headers.append(("Content-Encoding", encoding)) }
        return try api.client().request("POST", path, headers: headers, body: body)
    }

    func totals(_ response: LoopbackClient.Response) throws -> JSONObject? {
        guard case .object(let data)? = try json(response)["data"], case .object(let totals)? = data["totals"] else {
            return nil
        }
        return totals
    }

    func errorCode(_ response: LoopbackClient.Response) throws -> JSONValue? {
        guard case .object(let error)? = try json(response)["error"] else { return nil }
        return error["code"]
    }

    /// `apiCallsThisMonth` read back through the stats endpoint.
    func apiCalls(_ api: APIFixture) throws -> JSONValue? {
        let stats = try api.call(
            "GET", "/api/v1/admin/tenants/\(APIFixture.tenant)/stats", token: GzipIngestTests.admin)
        guard case .object(let data)? = try json(stats)["data"], case .object(let usage)? = data["usage"] else {
            return nil
        }
        return usage["apiCallsThisMonth"]
    }

    static func ndjson(_ ids: Range<Int>) -> [UInt8] {
        Array(
            ids.map { APIFixture.event("gz-\($0)", data: #"{"keyId":"k\#($0 % 7)","status":200}"#) + "\n" }.joined()
                .utf8)
    }

    @Test func gzipNDJSONIsIngestedExactlyOnce() throws {
        let api = try APIFixture()
        let body = GzipIngestTests.ndjson(0..<300)
        let compressed = DeflateTestEncoder.gzip(body)
        #expect(compressed.count < body.count / 4)
        let first = try post(api, compressed, encoding: "gzip")
        #expect(first.status == 200, "\(first.text)")
        #expect(try totals(first)?["accepted"] == .int(300))
        // The same batch again, under the x-gzip alias and in upper case: every event is a duplicate.
        let retry = try post(api, compressed, encoding: "X-GZIP")
        #expect(retry.status == 200)
        #expect(try totals(retry)?["duplicates"] == .int(300))
        #expect(api.engine.eventCount == 300)
        #expect(try apiCalls(api) == .int(300))
    }

    /// A gzip body sent without `Content-Encoding` (or compressed twice with one coding declared) is refused
    /// whole with 400 saying what to send, in every ingest format, rather than each NDJSON line rejected as
    /// invalid JSON; nothing is stored.
    @Test func aGzipBodyWithoutItsContentEncodingIsToldSo() throws {
        let api = try APIFixture()
        let compressed = DeflateTestEncoder.gzip(GzipIngestTests.ndjson(0..<20))
        for contentType in ["application/x-ndjson", "application/json", "application/cloudevents-batch+json"] {
            let answer = try post(api, compressed, encoding: nil, contentType: contentType)
            #expect(answer.status == 400, "\(contentType): \(answer.text)")
            #expect(try errorCode(answer) == .string("invalid_body"))
            #expect(answer.text.contains("but its Content-Encoding does not say so: send `Content-Encoding: gzip`"))
        }
        let twice = try post(api, DeflateTestEncoder.gzip(compressed), encoding: "gzip")
        #expect(twice.status == 400 && twice.text.contains("gzip-compressed"), "\(twice.text)")
        #expect(api.engine.eventCount == 0)
        #expect(try post(api, compressed, encoding: "gzip").status == 200)
    }

    @Test func gzipJSONArraysInSeveralMembersAreIngested() throws {
        let api = try APIFixture()
        let events = (0..<40).map { APIFixture.event("arr-\($0)") }
        let text = Array(("[" + events.joined(separator: ",") + "]").utf8)
        // Split across three members and three block kinds: `cat a.gz b.gz c.gz`.
        let members =
            DeflateTestEncoder.gzip(Array(text[..<100]), mode: .stored)
            + DeflateTestEncoder.gzip(Array(text[100..<900]), mode: .fixedLiterals)
            + DeflateTestEncoder.gzip(Array(text[900...]), mode: .fixedMatches)
        let response = try post(api, members, encoding: "gzip", contentType: "application/json")
        #expect(response.status == 200, "\(response.text)")
        #expect(try totals(response)?["accepted"] == .int(40))
        // identity (and no header at all) mean the body is taken as it is.
        let plain = try post(
            api, Array("[\(APIFixture.event("plain-1"))]".utf8), encoding: "identity",
            contentType: "application/json")
        #expect(plain.status == 200)
        #expect(
            try post(
                api, Array("[\(APIFixture.event("plain-2"))]".utf8), encoding: nil,
                contentType: "application/json"
            ).status == 200)
        #expect(api.engine.eventCount == 42)
        #expect(try apiCalls(api) == .int(42))
    }

    @Test func aCorruptGzipBodyIs400AndStoresNothing() throws {
        let api = try APIFixture()
        let good = DeflateTestEncoder.gzip(GzipIngestTests.ndjson(0..<20))
        var flipped = good
        flipped[good.count / 2] ^= 0x10
        let cases: [(String, [UInt8])] = [
            ("flipped bit", flipped),
            ("truncated", Array(good.dropLast(9))),
            ("CRC mismatch", Array(good.dropLast(8)) + [0, 0, 0, 0] + good.suffix(4)),
            ("trailing garbage", good + Array("junk".utf8)),
            ("not gzip at all", GzipIngestTests.ndjson(0..<20)),
        ]
        for (name, body) in cases {
            let response = try post(api, body, encoding: "gzip")
            #expect(response.status == 400, "\(name): \(response.text)")
            #expect(try errorCode(response) == .string("invalid_gzip"), "\(name)")
            #expect(response.text.contains("the gzip body is corrupt"), "\(name)")
        }
        #expect(api.engine.eventCount == 0)
    }

    /// A body may hold one dynamic-Huffman block per 32 bytes of the body limit (at least 1,024): 2,048
    /// under a 64 KiB limit. One block more, however small the body, is a 400 that names the bound, and
    /// stores nothing.
    @Test func aBodyOfTooManyHuffmanBlocksIsRefusedAndStoresNothing() throws {
        let api = try APIFixture(maxBodyBytes: 64 << 10)
        let events = DeflateTestEncoder.gzip(GzipIngestTests.ndjson(0..<5))
        func blocks(_ count: Int) -> [UInt8] {
            DeflateTestEncoder.wrapGzip(DeflateTestEncoder.emptyDynamicBlocks(count), crc: 0, length: 0)
        }
        let refused = try post(api, blocks(2049) + events, encoding: "gzip")
        #expect(refused.status == 400, "\(refused.text)")
        #expect(try errorCode(refused) == .string("invalid_gzip"))
        #expect(
            refused.text.contains("the gzip body is refused: the data holds more than 2048 dynamic Huffman blocks"),
            "\(refused.text)")
        #expect(api.engine.eventCount == 0)
        let taken = try post(api, blocks(2048) + events, encoding: "gzip")
        #expect(taken.status == 200, "\(taken.text)")
        #expect(try totals(taken)?["accepted"] == .int(5))
    }

    /// `Content-Encoding` on two lines is one list (RFC 9110 §5.3): `gzip` then `br` is refused as `gzip, br`
    /// is, and `identity` then `gzip` decodes as `identity, gzip` does.
    @Test func contentEncodingOnTwoLinesIsOneList() throws {
        let api = try APIFixture()
        let body = DeflateTestEncoder.gzip(
            Array(
                #"{"id":"two-lines","type":"api.call","tenantId":"\#(APIFixture.tenant)","data":{"keyId":"k","status":200}}"#
                    .utf8))
        func post(_ codings: [String]) throws -> LoopbackClient.Response {
            try api.client().request(
                "POST", "/api/v1/events",
                headers: [
                    ("Authorization", "Bearer \(GzipIngestTests.admin)"), ("x-tenantid", APIFixture.tenant),
                    ("Content-Type", "application/x-ndjson"),
                ] + codings.map { ("Content-Encoding", $0) }, body: body)
        }
        #expect(try post(["gzip", "br"]).status == 415)
        #expect(try post(["identity", "gzip"]).status == 200)
        // Each gzip coding is a full pass over the body: more than two are refused before any is undone.
        let stacked = try post(["gzip, gzip", "identity, gzip"])
        #expect(stacked.status == 415 && stacked.text.contains("lists 3 gzip codings"), "\(stacked.text)")
    }

    /// A body may carry at most 100,000 events, in any format: a small gzip body of empty objects once drew
    /// an 88 MB answer. One more is refused with 413 before the rest is read; exactly the cap is answered.
    @Test func aBodyOfMoreEventsThanTheCapIsRefused() throws {
        let api = try APIFixture()
        let cap = IngestBody.maxEvents
        func empties(_ count: Int, separator: String) -> [UInt8] {
            Array(Array(repeating: "{}", count: count).joined(separator: separator).utf8)
        }
        for (contentType, body) in [
            ("application/json", Array("[".utf8) + empties(cap + 1, separator: ",") + Array("]".utf8)),
            ("application/x-ndjson", empties(cap + 1, separator: "\n")),
            (
                "application/cloudevents-batch+json",
                Array("[".utf8) + empties(cap + 1, separator: ",") + Array("]".utf8)
            ),
        ] {
            let response = try post(api, DeflateTestEncoder.gzip(body), encoding: "gzip", contentType: contentType)
            #expect(response.status == 413, "\(contentType)")
            #expect(try errorCode(response) == .string("too_many_events"), "\(contentType)")
            #expect(response.text.contains("more than 100000 events"), "\(contentType)")
        }
        let atTheCap = Array("[".utf8) + empties(cap, separator: ",") + Array("]".utf8)
        let answered = try post(
            api, DeflateTestEncoder.gzip(atTheCap), encoding: "gzip", contentType: "application/json")
        #expect(answered.status == 422)
        #expect(try totals(answered)?["rejected"] == .int(Int64(cap)))
        // At the cap, the whole body is still read: what follows the last event must be JSON.
        let malformed = Array("[".utf8) + empties(cap, separator: ",") + Array(",x]".utf8)
        #expect(
            try post(api, DeflateTestEncoder.gzip(malformed), encoding: "gzip", contentType: "application/json").status
                == 400)
        #expect(api.engine.eventCount == 0)
    }

    /// The count that refuses an oversized CloudEvents batch before it is parsed skips strings (escapes
    /// and all) and nested values.
    @Test func topLevelCommasSkipStringsAndNesting() {
        let text = #"[{"a":"x,\",y","b":[1,2,{"c":3}]} , "s,t" ,[4,5]]"#
        #expect(IngestBody.topLevelCommas(in: Array(text.utf8), reach: 2))
        #expect(!IngestBody.topLevelCommas(in: Array(text.utf8), reach: 3))
        #expect(!IngestBody.topLevelCommas(in: Array("[]".utf8), reach: 1))
        // Not an array, or commas after it ends: left for the parser to name.
        #expect(!IngestBody.topLevelCommas(in: Array(#"{"a":1,"b":2,"c":3}"#.utf8), reach: 1))
        #expect(!IngestBody.topLevelCommas(in: Array("[1],,,,".utf8), reach: 1))
    }

    @Test func theDecompressedSizeIsLimitedByMaxBodyBytes() throws {
        let limit = 64 << 10
        let api = try APIFixture(maxBodyBytes: limit)
        // 4 MiB of zeros in about 25 KiB: well under the limit on the wire, 64 times it once decompressed.
        let bomb = DeflateTestEncoder.gzip([UInt8](repeating: 0, count: 4 << 20))
        #expect(bomb.count < limit)
        let response = try post(api, bomb, encoding: "gzip")
        #expect(response.status == 413)
        #expect(try errorCode(response) == .string("payload_too_large"))
        #expect(response.text.contains("\(limit) bytes") && response.text.contains("send smaller batches"))
        // A tenant's body is refused alike, with advice that fits it.
        let tenant = try post(
            api, bomb, encoding: "gzip", contentType: "application/json", to: "/api/v1/admin/tenants/")
        #expect(
            tenant.status == 413 && tenant.text.contains("\(limit) bytes")
                && tenant.text.contains("a tenant's body is far smaller") && !tenant.text.contains("batches"),
            "\(tenant.text)")

        // A caller without the ingest role is refused before anything is decompressed.
        let member = APIFixture.token(["member"], tenant: APIFixture.tenant)
        let refused = try api.client().request(
            "POST", "/api/v1/events",
            headers: [
                ("Authorization", "Bearer \(member)"), ("x-tenantid", APIFixture.tenant),
                ("Content-Type", "application/x-ndjson"), ("Content-Encoding", "gzip"),
            ], body: bomb)
        #expect(refused.status == 403, "\(refused.text)")

        // Real events: a batch one byte over the limit is refused, one at the limit is taken.
        var body = GzipIngestTests.ndjson(0..<600)
        #expect(body.count > limit)
        body = Array(body.prefix(limit))
        while body.last != 0x0A { body.removeLast() }
        let fits = body + [UInt8](repeating: 0x20, count: limit - body.count)
        let tooBig = fits + [0x0A]
        #expect(try post(api, DeflateTestEncoder.gzip(tooBig), encoding: "gzip").status == 413)
        #expect(api.engine.eventCount == 0)
        let accepted = try post(api, DeflateTestEncoder.gzip(fits), encoding: "gzip")
        #expect(accepted.status == 200, "\(accepted.text.prefix(300))")
        #expect(api.engine.eventCount > 0)
        #expect(try apiCalls(api) == .int(Int64(api.engine.eventCount)))
    }

    @Test func otherContentEncodingsAre415() throws {
        let api = try APIFixture()
        for encoding in ["br", "deflate", "compress", "zstd", "gzip, br"] {
            let response = try post(api, DeflateTestEncoder.gzip(GzipIngestTests.ndjson(0..<2)), encoding: encoding)
            #expect(response.status == 415, "\(encoding)")
            #expect(try errorCode(response) == .string("unsupported_content_encoding"))
            #expect(response.text.contains("gzip") && response.text.contains("identity"))
            #expect(response.header("Accept-Encoding") == "gzip, identity")
        }
        #expect(api.engine.eventCount == 0)
    }

    @Test func theOpenAPIDocumentDescribesContentEncoding() throws {
        let api = try APIFixture()
        let document = try api.call("GET", "/openapi.json", token: nil)
        #expect(document.text.contains(#""name":"Content-Encoding""#))
        #expect(document.text.contains("x-gzip"))
    }
}
