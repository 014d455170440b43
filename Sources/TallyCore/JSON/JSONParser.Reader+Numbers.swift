// Numbers: integers read exactly from their digits, doubles from an exact significand when one fits.

extension JSONParser.Reader {
    /// Parses the number starting at `index` (a `-` or a digit).
    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        let negative = input[index] == UInt8(ascii: "-")
        if negative {
            index &+= 1
        }
        // Every digit (integer and fraction part) accumulates into `significand` while it fits.
        var significand: UInt64 = 0
        var significandOverflowed = false
        var fractionDigits = 0

        guard index < count else {
            throw error(.unexpectedEnd, at: index, "expected a digit")
        }
        let firstDigit = input[index]
        if firstDigit == UInt8(ascii: "0") {
            index &+= 1
            if index < count && Self.isDigit(input[index]) {
                throw error(.invalidNumber, at: index, "leading zeros are not allowed")
            }
        } else if Self.isDigit(firstDigit) {
            accumulateDigits(into: &significand, overflowed: &significandOverflowed)
        } else {
            throw error(.invalidNumber, at: index, "expected a digit")
        }

        var isIntegral = true
        if index < count && input[index] == UInt8(ascii: ".") {
            isIntegral = false
            index &+= 1
            try requireDigit()
            let fractionStart = index
            accumulateDigits(into: &significand, overflowed: &significandOverflowed)
            fractionDigits = index &- fractionStart
        }

        var exponent = 0
        if index < count && (input[index] | 0x20) == UInt8(ascii: "e") {
            isIntegral = false
            index &+= 1
            var exponentNegative = false
            if index < count && (input[index] == UInt8(ascii: "+") || input[index] == UInt8(ascii: "-")) {
                exponentNegative = input[index] == UInt8(ascii: "-")
                index &+= 1
            }
            try requireDigit()
            while index < count && Self.isDigit(input[index]) {
                // Saturate: anything this large is far outside Double's range either way.
                if exponent < 1_000_000 {
                    exponent = exponent &* 10 &+ Int(input[index] &- UInt8(ascii: "0"))
                }
                index &+= 1
            }
            if exponentNegative {
                exponent = -exponent
            }
        }

        if isIntegral && !significandOverflowed {
            if !negative && significand <= UInt64(Int64.max) {
                return .int(Int64(significand))
            }
            if negative && significand <= Int64.min.magnitude {
                return .int(Int64(truncatingIfNeeded: 0 &- significand))
            }
        }
        // A whole number written with a fraction or exponent (`5000.0`, `5e3`, `-0.0`) is an integer, read
        // exactly from its digits: through a Double, `9007199254740993.0` would lose its last unit and
        // `0.99999999999999999` would round to a whole 1.
        if wholeNumbersAsIntegers, let whole = wholeNumber(from: start, to: index) {
            return .int(whole)
        }
        let value: Double
        if let fast = Self.exactDouble(
            significand, overflowed: significandOverflowed,
            exponent: exponent &- fractionDigits)
        {
            value = negative ? -fast : fast
        } else {
            value = slowDouble(from: start, to: index)
        }
        guard value.isFinite else {
            throw error(.numberOutOfRange, at: start, "magnitude too large for a Double")
        }
        return .double(value)
    }

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    mutating func requireDigit() throws(JSONParseError) {
        guard index < count else {
            throw error(.unexpectedEnd, at: index, "expected a digit")
        }
        guard Self.isDigit(input[index]) else {
            throw error(.invalidNumber, at: index, "expected a digit")
        }
    }

    @inline(__always)
    mutating func accumulateDigits(into significand: inout UInt64, overflowed: inout Bool) {
        while index < count {
            let digit = input[index] &- UInt8(ascii: "0")
            guard digit < 10 else { return }
            if !overflowed {
                let (times10, overflow1) = significand.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit))
                significand = sum
                overflowed = overflow1 || overflow2
            }
            index &+= 1
        }
    }

    /// The value of the number literal in `start..<end` (already validated) when it is a whole number
    /// within `Int64`, whatever its form; otherwise `nil`.
    @inline(never)
    func wholeNumber(from start: Int, to end: Int) -> Int64? {
        var position = start
        let negative = input[position] == UInt8(ascii: "-")
        if negative { position &+= 1 }
        // First pass: where the significant digits run (from the first non-zero digit), how many there
        // are, the zeros they end with, and how many digits follow the point.
        var firstSignificant: Int?
        var significantDigits = 0
        var trailingZeros = 0
        var fractionDigits = 0
        var inFraction = false
        while position < end {
            let byte = input[position]
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if Self.isDigit(byte) {
                if inFraction { fractionDigits &+= 1 }
                if firstSignificant == nil && byte != UInt8(ascii: "0") { firstSignificant = position }
                if firstSignificant != nil {
                    significantDigits &+= 1
                    trailingZeros = byte == UInt8(ascii: "0") ? trailingZeros &+ 1 : 0
                }
            } else {
                break
            }
            position &+= 1
        }
        var exponent = 0
        var exponentTooLarge = false
        if position < end {
            // `e` or `E`, an optional sign, digits.
            position &+= 1
            var exponentNegative = false
            if input[position] == UInt8(ascii: "-") || input[position] == UInt8(ascii: "+") {
                exponentNegative = input[position] == UInt8(ascii: "-")
                position &+= 1
            }
            while position < end {
                exponent = exponent &* 10 &+ Int(input[position] &- UInt8(ascii: "0"))
                // An exponent this large is far from any Int64 unless as many digits offset it, and a
                // saturated one would no longer tell which: such a literal (unless zero) is left to the
                // Double path.
                if exponent >= 100_000_000 {
                    exponentTooLarge = true
                    break
                }
                position &+= 1
            }
            if exponentNegative { exponent = -exponent }
        }
        guard let first = firstSignificant else { return 0 }
        guard !exponentTooLarge else { return nil }
        // value = (significant digits without their trailing zeros) × 10^scale
        let digits = significantDigits - trailingZeros
        let scale = exponent - fractionDigits + trailingZeros
        guard scale >= 0, digits + scale <= 19 else { return nil }
        var magnitude: UInt64 = 0
        var taken = 0
        position = first
        while taken < digits {
            let byte = input[position]
            position &+= 1
            guard byte != UInt8(ascii: ".") else { continue }
            magnitude = magnitude &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
            taken &+= 1
        }
        for _ in 0..<scale {
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            magnitude = product
        }
        if negative {
            return magnitude <= Int64.min.magnitude ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil
        }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// Powers of ten that are exact in a `Double`.
    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// `significand × 10^exponent` when both factors are exact doubles, so one IEEE operation rounds correctly.
    @inline(__always)
    static func exactDouble(_ significand: UInt64, overflowed: Bool, exponent: Int) -> Double? {
        guard !overflowed, significand <= 1 << 53, exponent >= -22, exponent <= 22 else {
            return nil
        }
        let mantissa = Double(significand)
        if exponent >= 0 {
            return mantissa * exactPowersOfTen[exponent]
        }
        return mantissa / exactPowersOfTen[-exponent]
    }

    /// Correctly rounded conversion of the already validated literal in `start..<end`.
    @inline(never)
    func slowDouble(from start: Int, to end: Int) -> Double {
        // The literal matches the JSON grammar, which is a subset of what `Double(_:)` accepts, so the
        // conversion cannot fail; `nan` is an unreachable fallback that the caller would reject.
        Double(makeString(from: start, to: end)) ?? .nan
    }
}
