import Glibc

/// The `Host` header's rules (RFC 9112 §3.2): an HTTP/1.1 request needs one, and no request may have two or
/// one whose value is not `uri-host [ ":" port ]`; each breach is a 400.
enum HostHeader {
    /// Why `request`'s `Host` makes it invalid, or `nil`.
    static func problem(in request: HTTPRequest) -> String? {
        let values = request.headers.values("Host")
        switch values.count {
        case 0: return request.minorVersion == 1 ? "an HTTP/1.1 request needs a Host header" : nil
        case 1: return isValid(values[0]) ? nil : "the Host header is not host[:port]"
        default: return "more than one Host header"
        }
    }

    /// Whether `value` is `uri-host [ ":" port ]` (RFC 3986 §3.2.2–3.2.3): an IP literal in brackets (an
    /// IPv6 address, with an optional `%25` zone as RFC 6874 writes it, or an `IPvFuture`), or a registered
    /// name or IPv4 address of unreserved, sub-delimiter and percent-encoded characters; then optionally a
    /// colon and digits. Empty is valid (RFC 9112 §3.2: a target without an authority).
    static func isValid(_ value: String) -> Bool {
        var value = value
        return value.withUTF8(isValid)
    }

    /// ``isValid(_:)`` over the value's bytes (read in place: it runs on every request).
    private static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        if bytes.first == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")), isIPLiteral(Array(bytes[1..<close])[...])
            else {
                return false
            }
            index = close + 1
        } else {
            while index < bytes.count, bytes[index] != UInt8(ascii: ":") {
                guard let next = nameCharacterEnd(bytes, at: index) else { return false }
                index = next
            }
        }
        guard index < bytes.count else { return true }
        guard bytes[index] == UInt8(ascii: ":") else { return false }
        return bytes[(index + 1)...].allSatisfy(isDigit)
    }

    /// Whether `literal` (between the brackets) is `IPv6address [ "%25" ZoneID ]` or `IPvFuture`.
    private static func isIPLiteral(_ literal: ArraySlice<UInt8>) -> Bool {
        guard let first = literal.first else { return false }
        if first == UInt8(ascii: "v") || first == UInt8(ascii: "V") {
            // "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
            let rest = literal.dropFirst()
            guard let dot = rest.firstIndex(of: UInt8(ascii: ".")), dot > rest.startIndex,
                rest[rest.startIndex..<dot].allSatisfy(isHexDigit), dot + 1 < rest.endIndex
            else { return false }
            return rest[(dot + 1)...].allSatisfy { isUnreserved($0) || isSubDelimiter($0) || $0 == UInt8(ascii: ":") }
        }
        var address = literal
        if let percent = literal.firstIndex(of: UInt8(ascii: "%")) {
            // ZoneID = 1*( unreserved / pct-encoded ), after "%25".
            let zone = Array(literal[percent...])
            guard zone.count > 3, zone[1] == UInt8(ascii: "2"), zone[2] == UInt8(ascii: "5") else { return false }
            let valid = zone.withUnsafeBufferPointer { zone in
                var index = 3
                while index < zone.count {
                    guard let next = zoneCharacterEnd(zone, at: index) else { return false }
                    index = next
                }
                return true
            }
            guard valid else { return false }
            address = literal[..<percent]
        }
        var text = Array(address)
        text.append(0)
        var parsed = in6_addr()
        return text.withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { inet_pton(AF_INET6, $0.baseAddress, &parsed) == 1 }
        }
    }

    /// Where the `reg-name` character at `index` ends (past a `%XX` escape), or `nil` when none starts there.
    private static func nameCharacterEnd(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        let byte = bytes[index]
        if byte == UInt8(ascii: "%") {
            guard index + 2 < bytes.count, isHexDigit(bytes[index + 1]), isHexDigit(bytes[index + 2]) else {
                return nil
            }
            return index + 3
        }
        return isUnreserved(byte) || isSubDelimiter(byte) ? index + 1 : nil
    }

    /// Where the zone character at `index` ends: unreserved or percent-encoded only.
    private static func zoneCharacterEnd(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Int? {
        guard bytes[index] == UInt8(ascii: "%") || isUnreserved(bytes[index]) else { return nil }
        return nameCharacterEnd(bytes, at: index)
    }

    /// RFC 3986 `unreserved`: letters, digits, `-`, `.`, `_`, `~`.
    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// RFC 3986 `sub-delims`: `!$&'()*+,;=`.
    private static func isSubDelimiter(_ byte: UInt8) -> Bool {
        "!$&'()*+,;=".utf8.contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        HTTPGrammar.hexValue(byte) != nil
    }
}
