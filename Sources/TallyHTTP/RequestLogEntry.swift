import TallyCore

/// One request's line in the server's log: one JSON object per line, such as
/// `{"time":"2026-11-24T08:15:27.042Z","method":"GET","path":"/healthz","status":200,"durationMs":0.012,
/// "client":"127.0.0.1","requestId":"5f0c2a41d9e3b700"}`, with `error` and `message` after the status when
/// the answer says why the request failed (``HTTPResponse/failure``). Written as bytes: one line per request
/// on the hottest path.
struct RequestLogEntry {
    /// The request's method, `-` when its request line was never read.
    var method: String
    /// The request's path, `-` when its request line was never read.
    var path: String
    /// The status answered (499 for a request its client left part-way).
    var status: Int
    /// How long the request took, from its first byte to its answer.
    var milliseconds: Double
    /// Why it failed, as its answer says; `nil` for a success.
    var failure: HTTPResponse.Failure? = nil
    /// The client's IPv4 address; left out when empty.
    var client: String = ""
    /// The request's id (see ``RequestID``); left out when empty.
    var requestId: String = ""

    /// The longest failure message logged, in bytes: a longer one is cut at a character's boundary and ends
    /// with `…`.
    static let maxMessageBytes = 300

    /// Appends the line, stamped `time` (when the answer was ready; UTC, milliseconds): the method, path and
    /// failure escaped, tokens in them redacted, the duration with three decimals.
    func append(time: Timestamp, to line: inout [UInt8]) {
        line.append(contentsOf: #"{"time":""#.utf8)
        time.appendRFC3339(to: &line, fractionDigits: 3)
        line.append(contentsOf: #"","method":""#.utf8)
        // A method is a token of any characters HTTP allows, a JSON Web Token among them.
        Self.appendLoggedText(method, to: &line)
        line.append(contentsOf: #"","path":""#.utf8)
        Self.appendLoggedText(path, to: &line)
        line.append(contentsOf: #"","status":"#.utf8)
        HTTPGrammar.appendDecimal(max(0, status), to: &line)
        if let failure {
            line.append(contentsOf: #","error":""#.utf8)
            Self.appendLoggedText(failure.code, to: &line)
            line.append(contentsOf: #"","message":""#.utf8)
            Self.appendLoggedText(Self.shortened(failure.message), to: &line)
            line.append(UInt8(ascii: "\""))
        }
        line.append(contentsOf: #","durationMs":"#.utf8)
        let microseconds = milliseconds.isFinite ? Int(max(0, min((milliseconds * 1000).rounded(), 1e15))) : 0
        HTTPGrammar.appendDecimal(microseconds / 1000, to: &line)
        line.append(UInt8(ascii: "."))
        let fraction = microseconds % 1000
        line.append(UInt8(ascii: "0") + UInt8(fraction / 100))
        line.append(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        line.append(UInt8(ascii: "0") + UInt8(fraction % 10))
        if !client.isEmpty {
            line.append(contentsOf: #","client":""#.utf8)
            line.append(contentsOf: client.utf8)
            line.append(UInt8(ascii: "\""))
        }
        if !requestId.isEmpty {
            line.append(contentsOf: #","requestId":""#.utf8)
            Self.appendLoggedText(requestId, to: &line)
            line.append(UInt8(ascii: "\""))
        }
        line.append(UInt8(ascii: "}"))
    }

    /// `message`, or its first ``maxMessageBytes`` bytes (whole characters) and `…`.
    static func shortened(_ message: String) -> String {
        guard message.utf8.count > maxMessageBytes else { return message }
        var kept = ""
        var bytes = 0
        for character in message {
            let size = character.utf8.count
            guard bytes + size <= maxMessageBytes else { break }
            kept.append(character)
            bytes += size
        }
        return kept + "…"
    }

    /// Appends text a client chose (a path, a method, a request id, a message quoting them) to the line as a
    /// JSON string's contents. Quotes, backslashes and every character a line-based reader may take for a
    /// line break or a control (U+0000-U+001F, U+007F-U+009F, U+2028, U+2029), which a decoded path may
    /// hold, are escaped, so the line stays one line and `/a%0Ab` is told apart from `/ab`. A JSON Web Token
    /// in it (a client that put one in the path or the method by mistake) is logged as `<token>`: the log
    /// never holds a credential.
    static func appendLoggedText(_ text: String, to line: inout [UInt8]) {
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 >= 0x7F }
                && TokenRedaction.ranges(in: bytes).isEmpty
        }
        if plain == true {
            line.append(contentsOf: text.utf8)
            return
        }
        let hex = Array("0123456789abcdef".utf8)
        for scalar in TokenRedaction.redacted(text).unicodeScalars {
            let value = scalar.value
            if value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029 {
                line.append(contentsOf: #"\u"#.utf8)
                for shift in [12, 8, 4, 0] { line.append(hex[Int(value >> UInt32(shift) & 0xF)]) }
                continue
            }
            if value == 0x22 || value == 0x5C { line.append(0x5C) }
            line.append(contentsOf: String(scalar).utf8)
        }
    }
}
