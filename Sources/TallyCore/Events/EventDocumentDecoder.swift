/// Decodes ingest documents (one JSON event, or a JSON array of events) into validated events.
///
/// The common shape of an `api.call` is read straight from the bytes (``APICallScanner``); every other event,
/// and every event that shape does not cover, goes through ``JSONParser`` and ``EventJSONDecoder``. The results
/// and errors are exactly those of parsing the whole document with the parser and decoding each event with the
/// decoder, only without building a ``JSONValue`` for most events.
///
/// An event whose object repeats a key (RFC 8259 allows it, with unpredictable meaning) is an invalid event,
/// `data.status: appears more than once`, not a malformed document: it never blocks the events beside it.
public struct EventDocumentDecoder: Sendable {
    /// The parser for what the fast path does not read, with its limits.
    public let parser: JSONParser
    /// The same limits but repeated keys kept: used only when `parser` found one, to read on past it.
    private let lenient: JSONParser
    private let decoder = EventJSONDecoder()
    /// Whether the limits leave room for the fast path's three levels (array, event, `data`).
    private let fastPathAllowed: Bool

    /// Creates a decoder.
    /// - Parameter parser: The JSON parser whose limits and errors apply; by default 64 levels and no
    ///   repeated keys. Whole numbers are always read as integers, exactly (events hold counts).
    public init(parser: JSONParser = JSONParser()) {
        var parser = parser
        parser.limits.wholeNumbersAsIntegers = true
        self.parser = parser
        self.lenient = JSONParser(
            limits: .init(
                maxDepth: parser.limits.maxDepth, rejectDuplicateKeys: false,
                wholeNumbersAsIntegers: true))
        self.fastPathAllowed = parser.limits.maxDepth >= 3
    }

    /// Parses a document whose events may repeat keys: with ``parser``, and only when that finds a repeated
    /// key, again with repeated keys kept (then `repeatsKeys` is `true`, and each event must be checked with
    /// ``repeatedKey(in:)``).
    /// - Throws: ``JSONParseError`` for anything but a repeated key.
    public func parseDocument(_ bytes: UnsafeRawBufferPointer) throws(JSONParseError) -> (
        value: JSONValue, repeatsKeys: Bool
    ) {
        do throws(JSONParseError) {
            return (try parser.parse(bytes), false)
        } catch  where error.kind == .duplicateKey && parser.limits.rejectDuplicateKeys {
            return (try lenient.parse(bytes), true)
        }
    }

    /// Why an event repeats a key, naming the first repeated one by its path (`data.status`), or `nil`.
    public static func repeatedKey(in value: JSONValue) -> EventValidationError? {
        repeatedKeyPath(in: value).map { path in
            let field = path.enumerated().map { index, step in
                switch step {
                case .key(let key): index == 0 ? key : "." + key
                case .index(let position): "[\(position)]"
                }
            }.joined()
            return EventValidationError(field: field, rule: Self.repeatedKeyRule)
        }
    }

    /// What ``repeatedKey(in:)`` says of a repeated key.
    public static let repeatedKeyRule = "appears more than once (give each key once)"

    /// One step of a path into a JSON value.
    public enum PathStep: Sendable, Equatable {
        /// An object member.
        case key(String)
        /// An array element.
        case index(Int)
    }

    /// The path of a key that an object in `value` repeats, or `nil`: an object's own repeated member comes
    /// before any repeat inside its members' values, and members are searched in document order.
    public static func repeatedKeyPath(in value: JSONValue) -> [PathStep]? {
        repeatedKeyPaths(in: value, limit: 1).first
    }

    /// The paths of the keys that objects in `value` repeat, each repeated key once per object, in the order
    /// ``repeatedKeyPath(in:)`` searches: an object's own repeated members (in document order, by their
    /// first repeat), then the repeats inside its members' values.
    /// - Parameter limit: The most paths wanted: the search stops once it has found them.
    public static func repeatedKeyPaths(in value: JSONValue, limit: Int = .max) -> [[PathStep]] {
        var found: [[PathStep]] = []
        var path: [PathStep] = []
        collectRepeats(in: value, path: &path, into: &found, limit: limit)
        return found
    }

    private static func collectRepeats(
        in value: JSONValue, path: inout [PathStep], into found: inout [[PathStep]], limit: Int
    ) {
        switch value {
        case .object(let object):
            // By bytes, as the parser and the decoder tell keys apart: Swift's `String` equality is canonical
            // equivalence, under which "caf\u{E9}" and "cafe\u{301}" would be one key.
            var seen: Set<[UInt8]> = []
            var reported: Set<[UInt8]> = []
            for member in object where found.count < limit {
                let key = Array(member.key.utf8)
                if !seen.insert(key).inserted, reported.insert(key).inserted {
                    found.append(path + [.key(member.key)])
                }
            }
            for member in object where found.count < limit {
                path.append(.key(member.key))
                collectRepeats(in: member.value, path: &path, into: &found, limit: limit)
                path.removeLast()
            }
        case .array(let items):
            for (index, item) in items.enumerated() where found.count < limit {
                path.append(.index(index))
                collectRepeats(in: item, path: &path, into: &found, limit: limit)
                path.removeLast()
            }
        default:
            break
        }
    }

    /// Decodes a document holding one event or an array of events.
    /// - Parameters:
    ///   - bytes: The UTF-8 JSON text.
    ///   - receivedAt: The time of events without `time`.
    ///   - limit: The most events the caller takes: decoding stops once an array has given one more than
    ///     that (so the caller can refuse it without decoding, or holding, the rest).
    /// - Returns: Each event, or why it is invalid, in document order (at most `limit + 1` of them).
    /// - Throws: ``JSONParseError`` when the document is not JSON, as ``JSONParser/parse(_:)-(UnsafeRawBufferPointer)``
    ///   reports it.
    public func decodeEvents(
        _ bytes: UnsafeRawBufferPointer, receivedAt: Timestamp, limit: Int = .max
    ) throws(JSONParseError) -> [Result<Event, EventValidationError>] {
        let start = Self.skipWhitespace(bytes, from: 0)
        if fastPathAllowed, start < bytes.count {
            if bytes[start] == UInt8(ascii: "{") {
                return [try decodeEvent(bytes, receivedAt: receivedAt)]
            }
            if bytes[start] == UInt8(ascii: "["),
                let events = try decodeArray(bytes, from: start, receivedAt: receivedAt, limit: limit)
            {
                return events
            }
        }
        let (value, repeatsKeys) = try parseDocument(bytes)
        if case .array(let items) = value {
            return items.prefix(limit == .max ? .max : max(0, limit) + 1).map {
                decode($0, receivedAt: receivedAt, checkRepeats: repeatsKeys)
            }
        }
        return [decode(value, receivedAt: receivedAt, checkRepeats: repeatsKeys)]
    }

    /// Decodes a document that must hold exactly one event, such as an NDJSON line; an array is an invalid
    /// event like any other value that is not an object.
    /// - Parameters:
    ///   - bytes: The UTF-8 JSON text.
    ///   - receivedAt: The time of an event without `time`.
    /// - Returns: The event, or why it is invalid.
    /// - Throws: ``JSONParseError`` when the document is not JSON.
    public func decodeEvent(
        _ bytes: UnsafeRawBufferPointer, receivedAt: Timestamp
    ) throws(JSONParseError) -> Result<Event, EventValidationError> {
        if fastPathAllowed {
            var scanner = APICallScanner(input: bytes, index: Self.skipWhitespace(bytes, from: 0))
            if let event = scanner.scanEvent(receivedAt: receivedAt),
                Self.skipWhitespace(bytes, from: scanner.index) == bytes.count
            {
                return .success(event)
            }
        }
        let (value, repeatsKeys) = try parseDocument(bytes)
        return decode(value, receivedAt: receivedAt, checkRepeats: repeatsKeys)
    }

    /// Reads the array whose `[` is at `start`, each element through the scanner or else the parser.
    /// - Returns: The events, or `nil` when the array itself is malformed and the whole-document parse must
    ///   name the error.
    /// - Throws: The parser's error for the first malformed element: the whole-document parse would stop at
    ///   the same place, since everything before it was read and found well-formed.
    private func decodeArray(
        _ bytes: UnsafeRawBufferPointer, from start: Int, receivedAt: Timestamp, limit: Int
    ) throws(JSONParseError) -> [Result<Event, EventValidationError>]? {
        var index = Self.skipWhitespace(bytes, from: start &+ 1)
        var events: [Result<Event, EventValidationError>] = []
        if index < bytes.count && bytes[index] == UInt8(ascii: "]") {
            return Self.skipWhitespace(bytes, from: index &+ 1) == bytes.count ? events : nil
        }
        while true {
            var scanner = APICallScanner(input: bytes, index: index)
            if let event = scanner.scanEvent(receivedAt: receivedAt) {
                events.append(.success(event))
                index = scanner.index
            } else {
                var parsed = parser.parseValue(in: bytes, at: index, depth: 1)
                var repeatsKeys = false
                if case .failure(let error) = parsed, error.kind == .duplicateKey, parser.limits.rejectDuplicateKeys {
                    // An event repeating a key is invalid on its own: read on past it.
                    parsed = lenient.parseValue(in: bytes, at: index, depth: 1)
                    repeatsKeys = true
                }
                let (value, end) = try parsed.get()
                events.append(decode(value, receivedAt: receivedAt, checkRepeats: repeatsKeys))
                index = end
            }
            // One past the limit is enough for the caller to refuse the body: the rest is not read.
            if events.count > limit { return events }
            index = Self.skipWhitespace(bytes, from: index)
            guard index < bytes.count else { return nil }
            let separator = bytes[index]
            index = Self.skipWhitespace(bytes, from: index &+ 1)
            if separator == UInt8(ascii: "]") { break }
            guard separator == UInt8(ascii: ",") else { return nil }
        }
        return index == bytes.count ? events : nil
    }

    private func decode(_ value: JSONValue, receivedAt: Timestamp, checkRepeats: Bool = false) -> Result<
        Event, EventValidationError
    > {
        if checkRepeats, let repeated = Self.repeatedKey(in: value) { return .failure(repeated) }
        return Result { () throws(EventValidationError) in try decoder.decode(value, receivedAt: receivedAt) }
    }

    private static func skipWhitespace(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int {
        var index = start
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 else { break }
            index &+= 1
        }
        return index
    }
}
