import TallyCore

/// Splits an ingest request body into events: one JSON event, a JSON array of events, NDJSON, or CloudEvents
/// 1.0 (structured or batch), by `Content-Type`.
enum IngestBody {
    /// Why the body as a whole cannot be read (400, 413 or 415).
    struct Failure: Error {
        var status: Int
        var code: APIErrorCode
        var message: String
        /// Extra response headers (such as `Accept-Encoding` on a 415 for an unknown content coding).
        var headers: [(String, String)] = []
    }

    static let decoder = EventDocumentDecoder()

    /// JSON's whitespace (RFC 8259 §2): space, tab, line feed, carriage return.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    /// `body` without a leading UTF-8 byte order mark, which editors and Windows tools put before text they
    /// save and RFC 8259 §8.1 lets a parser ignore: a file that `tally import` takes posts alike. Error
    /// positions then count from after the mark, as the editor that wrote it shows them.
    static func droppingByteOrderMark(_ body: [UInt8]) -> [UInt8] {
        body.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(body.dropFirst(3)) : body
    }

    /// The most events one request may carry. Without a cap, a small body of empty objects (`[{},{},…]`,
    /// which gzip shrinks a thousandfold) drew a result, and a rejection message, for each: a 4 KB request
    /// once took an 88 MB answer and 400 MB of memory. 100,000 events is 100 of the benchmark's batches.
    static let maxEvents = 100_000

    /// The answer to a body with more than ``maxEvents`` events.
    static var tooManyEvents: Failure {
        Failure(
            status: 413, code: .tooManyEvents,
            message:
                "the body holds more than \(maxEvents) events; send at most \(maxEvents) per request (split the batch, or backfill with `tally import`)"
        )
    }

    /// The events, each validated or with the reason it is invalid.
    static func events(body: [UInt8], contentType: String?, receivedAt: Timestamp) throws(Failure) -> [Result<
        Event, EventValidationError
    >] {
        var lines: [Int] = []
        var tenantFields: [String] = []
        return try events(
            body: body, contentType: contentType, receivedAt: receivedAt, lines: &lines, tenantFields: &tenantFields)
    }

    /// The events, each validated or with the reason it is invalid; for an NDJSON body, `lines` receives
    /// each event's line number (blank lines hold none), and stays empty for the other formats. For a
    /// CloudEvents body, `tenantFields` receives the attribute each event's tenant came in (`tenantid` or
    /// `subject`), so an error about it names what the client sent; it stays empty for the other formats.
    static func events(
        body: [UInt8], contentType: String?, receivedAt: Timestamp,
        lines: inout [Int], tenantFields: inout [String]
    ) throws(Failure) -> [Result<Event, EventValidationError>] {
        let body = droppingByteOrderMark(body)
        // No JSON text starts with 0x1F: a body that starts as gzip does is compressed, and was sent without
        // saying so (or compressed twice, one coding declared). Each NDJSON line would be rejected alone.
        if body.starts(with: [0x1F, 0x8B]) {
            throw Failure(
                status: 400, code: .invalidBody,
                message:
                    "the body is gzip-compressed (it starts with gzip's bytes 1f 8b) but its Content-Encoding does not say so: send `Content-Encoding: gzip` with it"
            )
        }
        let type = HeaderValue.mediaType(contentType ?? "application/json")
        switch type {
        case "application/json", "text/json":
            let decoded = body.withUnsafeBytes { bytes in
                Result { () throws(JSONParseError) in
                    try decoder.decodeEvents(bytes, receivedAt: receivedAt, limit: maxEvents)
                }
            }
            let events: [Result<Event, EventValidationError>]
            do throws(JSONParseError) {
                events = try decoded.get()
            } catch {
                throw malformed(error)
            }
            guard events.count <= maxEvents else { throw tooManyEvents }
            return events
        case "application/x-ndjson", "application/jsonl":
            let events = body.withUnsafeBytes { bytes in ndjson(bytes, receivedAt: receivedAt, lines: &lines) }
            guard events.count <= maxEvents else { throw tooManyEvents }
            return events
        case "application/cloudevents+json":
            let (value, repeatsKeys) = try parse(body)
            if case .array = value {
                throw Failure(
                    status: 400, code: .invalidBody,
                    message:
                        "a CloudEvent sent as application/cloudevents+json must be a JSON object: send a batch (an array) as application/cloudevents-batch+json"
                )
            }
            tenantFields = [tenantField(of: value)]
            return [cloudEvent(value, receivedAt: receivedAt, checkRepeats: repeatsKeys)]
        case "application/cloudevents-batch+json":
            // Counted before the batch is parsed whole: a 16 KB gzip body of `{}` would otherwise build
            // millions of values first.
            guard !topLevelCommas(in: body, reach: maxEvents) else { throw tooManyEvents }
            let (value, repeatsKeys) = try parse(body)
            guard case .array(let items) = value else {
                let hint: String
                if case .object = value {
                    hint = "send a single CloudEvent (an object) as application/cloudevents+json"
                } else {
                    hint = "send the CloudEvents (objects) in a JSON array"
                }
                throw Failure(
                    status: 400, code: .invalidBody, message: "a CloudEvents batch must be a JSON array: \(hint)")
            }
            guard items.count <= maxEvents else { throw tooManyEvents }
            tenantFields = items.map(tenantField(of:))
            return items.map { cloudEvent($0, receivedAt: receivedAt, checkRepeats: repeatsKeys) }
        default:
            throw Failure(
                status: 415, code: .unsupportedMediaType,
                message:
                    "\(HeaderValue.naming(mediaType: type)) is not supported; use application/json (or text/json), application/x-ndjson (or application/jsonl), application/cloudevents+json or application/cloudevents-batch+json"
            )
        }
    }

    /// Whether a JSON array holds at least `limit` commas at its top level (so more than `limit` elements),
    /// counted in one pass over the bytes without parsing: strings (with their escapes) and nested values
    /// are skipped. A body that is not JSON is left for the parser to name.
    static func topLevelCommas(in body: [UInt8], reach limit: Int) -> Bool {
        // Only an array is counted: anything else is left for the parser to name.
        guard let first = body.firstIndex(where: { !isWhitespace($0) }),
            body[first] == UInt8(ascii: "[")
        else { return false }
        var depth = 0
        var inString = false
        var escaped = false
        var commas = 0
        for byte in body[first...] {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
                // The array ended: what follows is not its elements (the parser names any of it).
                if depth == 0 { return false }
            case UInt8(ascii: ","):
                if depth == 1 {
                    commas += 1
                    if commas >= limit { return true }
                }
            default: break
            }
        }
        return false
    }

    /// One event per line; a line that is not JSON is an invalid event, not a malformed body.
    private static func ndjson(
        _ body: UnsafeRawBufferPointer, receivedAt: Timestamp,
        lines: inout [Int]
    ) -> [Result<Event, EventValidationError>] {
        var results: [Result<Event, EventValidationError>] = []
        var lineNumber = 0
        var lineStart = 0
        // One past the cap is enough for the caller to refuse the body: the rest is not read.
        while lineStart <= body.count && results.count <= maxEvents {
            lineNumber += 1
            var lineEnd = lineStart
            while lineEnd < body.count && body[lineEnd] != 0x0A { lineEnd += 1 }
            let next = lineEnd + 1
            if lineEnd > lineStart && body[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = UnsafeRawBufferPointer(rebasing: body[lineStart..<lineEnd])
            lineStart = next
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            lines.append(lineNumber)
            do throws(JSONParseError) {
                results.append(try decoder.decodeEvent(line, receivedAt: receivedAt))
            } catch {
                results.append(
                    .failure(
                        EventValidationError(
                            field: "line \(lineNumber)", rule: "invalid JSON: \(error.messageWithinLine)")))
            }
        }
        return results
    }

    /// The body parsed; a repeated key is not malformed JSON but makes its event invalid (`repeatsKeys`: check
    /// each event, see ``EventDocumentDecoder/parseDocument(_:)``).
    private static func parse(_ body: [UInt8]) throws(Failure) -> (value: JSONValue, repeatsKeys: Bool) {
        let parsed = body.withUnsafeBytes { bytes in
            Result { () throws(JSONParseError) in try decoder.parseDocument(bytes) }
        }
        do throws(JSONParseError) {
            return try parsed.get()
        } catch {
            throw malformed(error)
        }
    }

    /// One CloudEvent, invalid when it repeats a key.
    /// The attribute a CloudEvent's tenant came in (`tenantid` when it has none, as its error says).
    private static func tenantField(of value: JSONValue) -> String {
        guard case .object(let object) = value else { return "tenantid" }
        return CloudEvents.tenantAttribute(of: object) ?? "tenantid"
    }

    private static func cloudEvent(_ value: JSONValue, receivedAt: Timestamp, checkRepeats: Bool) -> Result<
        Event, EventValidationError
    > {
        if checkRepeats, let repeated = EventDocumentDecoder.repeatedKey(in: value) { return .failure(repeated) }
        return CloudEvents.event(value, receivedAt: receivedAt)
    }

    private static func malformed(_ error: JSONParseError) -> Failure {
        Failure(status: 400, code: .malformedJson, message: "malformed JSON: \(error.message)")
    }
}
