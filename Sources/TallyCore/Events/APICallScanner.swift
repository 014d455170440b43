import Glibc

/// Reads the common shape of an `api.call` event straight from JSON bytes into an ``Event``, building no
/// ``JSONValue`` on the way.
///
/// It reads only a narrow subset of JSON: strings of printable ASCII without escapes, numbers made of digits
/// with an optional fraction, each member at most once, and only the members an `api.call` event and its
/// `data` may have. It never decides that input is wrong: whatever it does not read, or whatever breaks a rule,
/// it declines (`nil`), and the caller hands that event to ``JSONParser`` and ``EventJSONDecoder``, which give
/// the answer or the error. So an event it returns is the event the general path returns for the same bytes;
/// the tests hold the two paths to that on mutated input.
struct APICallScanner {
    private let input: UnsafeRawBufferPointer
    private let count: Int
    /// The read position: after a successful ``scanEvent(receivedAt:)``, just after the event's `}`.
    private(set) var index: Int

    /// Creates a scanner over `input` that starts reading at `index`.
    init(input: UnsafeRawBufferPointer, index: Int) {
        self.input = input
        self.count = input.count
        self.index = index
    }

    /// The members of an event, one bit each, to catch repeats.
    private enum Member {
        static let id: UInt8 = 1
        static let type: UInt8 = 2
        static let tenantId: UInt8 = 4
        static let time: UInt8 = 8
        static let data: UInt8 = 16
        static let offset: UInt8 = 32
        static let ingestTime: UInt8 = 64
    }

    /// The members of an `api.call`'s `data`, one bit each, to catch repeats.
    private enum DataMember {
        static let keyId: UInt8 = 1
        static let status: UInt8 = 2
        static let bytes: UInt8 = 4
        static let durationMs: UInt8 = 8
        static let oauthClientId: UInt8 = 16
    }

    /// The `data` of an `api.call`, as byte ranges and numbers still to be checked.
    private struct CallData {
        var keyId: Range<Int>?
        var status: Number?
        var bytes: Number?
        var durationMs: Number?
        var oauthClientId: Range<Int>?
    }

    /// A non-negative JSON number: all its digits as one integer, and how many of them follow the point.
    private struct Number {
        var digits: UInt64
        var fractionDigits: Int

        /// The value as an integer, when the literal has no fraction.
        var integer: Int64? {
            fractionDigits == 0 ? Int64(digits) : nil
        }

        /// The value as the general parser converts it: integers exactly, fractions when one IEEE division
        /// rounds them correctly (otherwise `nil`).
        var double: Double? {
            fractionDigits == 0
                ? Double(Int64(digits))
                : JSONParser.Reader.exactDouble(digits, overflowed: false, exponent: -fractionDigits)
        }
    }

    /// Reads the event object whose `{` is at ``index``.
    /// - Parameter receivedAt: The time of an event without `time`.
    /// - Returns: The event, or `nil` when the general path must read it.
    mutating func scanEvent(receivedAt: Timestamp) -> Event? {
        guard byte(at: index) == UInt8(ascii: "{") else { return nil }
        index &+= 1
        var seen: UInt8 = 0
        var id: Range<Int>?
        var type: Range<Int>?
        var tenant: Range<Int>?
        var time: Range<Int>?
        var data: CallData?
        while true {
            skipWhitespace()
            guard let key = memberName() else { return nil }
            let member: UInt8
            if matches(key, "id") {
                member = Member.id
                guard let value = plainString() else { return nil }
                id = value
            } else if matches(key, "type") {
                member = Member.type
                guard let value = plainString() else { return nil }
                type = value
            } else if matches(key, "tenantId") {
                member = Member.tenantId
                guard let value = plainString() else { return nil }
                tenant = value
            } else if matches(key, "time") {
                member = Member.time
                guard let value = plainString() else { return nil }
                time = value
            } else if matches(key, "data") {
                member = Member.data
                guard let value = scanCallData() else { return nil }
                data = value
            } else if matches(key, "offset") || matches(key, "ingestTime") {
                // What `tally dump` adds; accepted and ignored, as the general decoder does.
                member = key.count == 6 ? Member.offset : Member.ingestTime
                guard plainString() != nil || number() != nil else { return nil }
            } else {
                return nil
            }
            guard seen & member == 0, let more = afterMember() else { return nil }
            seen |= member
            if !more { break }
        }
        return event(id: id, type: type, tenant: tenant, time: time, data: data, receivedAt: receivedAt)
    }

    /// Checks the parts of an `api.call` as ``EventJSONDecoder`` does and builds the event.
    private func event(
        id: Range<Int>?, type: Range<Int>?, tenant: Range<Int>?, time: Range<Int>?, data: CallData?,
        receivedAt: Timestamp
    ) -> Event? {
        guard let id, isIdentifier(id), let type, matches(type, "api.call"),
            let tenant, let tenantId = TenantID(utf8: bytes(tenant)),
            let data, let keyId = data.keyId, isIdentifier(keyId),
            let status = data.status?.integer, (100...599).contains(status)
        else { return nil }
        var at = receivedAt
        if let time {
            guard case .success(let parsed) = Timestamp.parse(bytes(time)) else { return nil }
            at = parsed
        }
        var call = APICall(keyId: string(keyId), status: UInt16(status))
        if let bytes = data.bytes {
            guard let value = bytes.integer else { return nil }
            call.bytes = value
        }
        if let duration = data.durationMs {
            guard let value = duration.double else { return nil }
            call.durationMs = value
        }
        if let client = data.oauthClientId {
            guard isIdentifier(client) else { return nil }
            call.oauthClientId = string(client)
        }
        return Event(id: string(id), tenantId: tenantId, time: at, payload: .apiCall(call))
    }

    /// Reads the `data` object of an `api.call`.
    private mutating func scanCallData() -> CallData? {
        skipWhitespace()
        guard byte(at: index) == UInt8(ascii: "{") else { return nil }
        index &+= 1
        var seen: UInt8 = 0
        var data = CallData()
        while true {
            skipWhitespace()
            guard let key = memberName() else { return nil }
            let member: UInt8
            if matches(key, "keyId") {
                member = DataMember.keyId
                guard let value = plainString() else { return nil }
                data.keyId = value
            } else if matches(key, "status") {
                member = DataMember.status
                guard let value = number() else { return nil }
                data.status = value
            } else if matches(key, "bytes") {
                member = DataMember.bytes
                guard let value = number() else { return nil }
                data.bytes = value
            } else if matches(key, "durationMs") {
                member = DataMember.durationMs
                guard let value = number() else { return nil }
                data.durationMs = value
            } else if matches(key, "oauthClientId") {
                member = DataMember.oauthClientId
                guard let value = plainString() else { return nil }
                data.oauthClientId = value
            } else {
                return nil
            }
            guard seen & member == 0, let more = afterMember() else { return nil }
            seen |= member
            if !more { return data }
        }
    }

    // MARK: - Reading

    /// Reads `"name"` and the `:` after it, leaving ``index`` at the value.
    private mutating func memberName() -> Range<Int>? {
        guard let name = plainString() else { return nil }
        skipWhitespace()
        guard byte(at: index) == UInt8(ascii: ":") else { return nil }
        index &+= 1
        skipWhitespace()
        return name
    }

    /// After a member: `true` past a `,`, `false` past the closing `}`, `nil` at anything else.
    private mutating func afterMember() -> Bool? {
        skipWhitespace()
        let next = byte(at: index)
        index &+= 1
        if next == UInt8(ascii: ",") { return true }
        if next == UInt8(ascii: "}") { return false }
        return nil
    }

    /// Reads a string of printable ASCII without escapes, returning the range of its content.
    private mutating func plainString() -> Range<Int>? {
        guard byte(at: index) == UInt8(ascii: "\"") else { return nil }
        let start = index &+ 1
        var position = start
        while position &+ 8 <= count {
            let word = UInt64(littleEndian: input.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            let mask = JSONParser.Reader.attentionMask(word)
            if mask != 0 {
                position &+= mask.trailingZeroBitCount &>> 3
                break
            }
            position &+= 8
        }
        while position < count {
            let next = input[position]
            if next < 0x20 || next >= 0x80 || next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") { break }
            position &+= 1
        }
        guard byte(at: position) == UInt8(ascii: "\"") else { return nil }
        index = position &+ 1
        return start..<position
    }

    /// Reads a number of up to 18 digits with an optional fraction and no sign or exponent.
    private mutating func number() -> Number? {
        var digits: UInt64 = 0
        var length = 0
        var fractionDigits = 0
        if byte(at: index) == UInt8(ascii: "0") {
            index &+= 1
            length = 1
            if isDigit(byte(at: index)) { return nil }
        } else {
            while isDigit(byte(at: index)) {
                digits = digits &* 10 &+ UInt64(input[index] &- UInt8(ascii: "0"))
                index &+= 1
                length &+= 1
            }
            guard length > 0 else { return nil }
        }
        if byte(at: index) == UInt8(ascii: ".") {
            index &+= 1
            while isDigit(byte(at: index)) {
                digits = digits &* 10 &+ UInt64(input[index] &- UInt8(ascii: "0"))
                index &+= 1
                length &+= 1
                fractionDigits &+= 1
            }
            guard fractionDigits > 0 else { return nil }
        }
        let next = byte(at: index)
        guard length <= 18, next != UInt8(ascii: "e"), next != UInt8(ascii: "E") else { return nil }
        return Number(digits: digits, fractionDigits: fractionDigits)
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < count {
            let next = input[index]
            guard next == 0x20 || next == 0x0A || next == 0x0D || next == 0x09 else { return }
            index &+= 1
        }
    }

    /// The byte at `position`, or 0 (which no rule accepts) past the end.
    @inline(__always)
    private func byte(at position: Int) -> UInt8 {
        position < count ? input[position] : 0
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    // MARK: - Checking

    /// Whether the bytes in `range` spell `name`.
    @inline(__always)
    private func matches(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount, let base = input.baseAddress else { return false }
        return memcmp(base + range.lowerBound, name.utf8Start, range.count) == 0
    }

    /// ``EventJSONDecoder/isIdentifier(_:)`` for a plain string: 1–128 bytes, none of them DEL (the scan already
    /// ruled out controls, non-ASCII, quotes and backslashes).
    private func isIdentifier(_ range: Range<Int>) -> Bool {
        guard !range.isEmpty, range.count <= EventJSONDecoder.maxIdLength else { return false }
        for position in range where input[position] == 0x7F {
            return false
        }
        return true
    }

    private func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: input[range])
    }

    private func string(_ range: Range<Int>) -> String {
        String(decoding: bytes(range), as: UTF8.self)
    }
}
