import TallyHTTP

/// Everything a parser produced for some input: the requests, then either an error or "needs more".
struct ParseOutcome: Equatable, CustomStringConvertible {
    /// Requests returned, in order.
    var requests: [HTTPRequest] = []
    /// The error thrown after the requests, if any.
    var error: HTTPParseError?

    /// A compact description for failure messages.
    var description: String {
        let summary = requests.map { "\($0.method) \($0.target)" }
        return "\(requests.count) request(s) \(summary), error: \(error.map { "\($0)" } ?? "none")"
    }

    /// Feeds `pieces` one after another, draining the parser after each, and records what came out.
    ///
    /// - Parameters:
    ///   - pieces: The byte pieces to feed in order.
    ///   - limits: The parser limits.
    /// - Returns: The combined outcome.
    static func parse(_ pieces: [[UInt8]], limits: HTTPLimits = HTTPLimits()) -> ParseOutcome {
        var parser = HTTPRequestParser(limits: limits)
        var outcome = ParseOutcome()
        for piece in pieces {
            parser.feed(piece)
            guard outcome.drain(&parser) else { return outcome }
        }
        return outcome
    }

    /// Calls `next()` until it returns `nil` or throws, appending requests and recording an error.
    ///
    /// - Parameters:
    ///   - parser: The parser to drain.
    /// - Returns: `false` once an error was recorded.
    mutating func drain(_ parser: inout HTTPRequestParser) -> Bool {
        // Each returned request consumes at least one byte, so this bound is never reached unless the parser loops.
        for _ in 0..<100_000 {
            do {
                guard let request = try parser.next() else { return true }
                requests.append(request)
            } catch {
                self.error = error
                return false
            }
        }
        self.error = HTTPParseError(code: .badRequest, message: "TEST: parser did not stop returning requests")
        return false
    }
}

/// The UTF-8 bytes of `text`.
///
/// - Parameters:
///   - text: The text.
/// - Returns: Its bytes.
func bytes(_ text: String) -> [UInt8] {
    Array(text.utf8)
}
