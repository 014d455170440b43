extension DeflateDecoder {
    /// Decodes one Huffman-coded block with the current tables, up to its end-of-block symbol.
    ///
    /// The hot loop: decoder state is copied into locals (so no class property is touched per symbol), the bit
    /// buffer is refilled with one unaligned 8-byte load while at least 8 input bytes remain, and every symbol
    /// costs one table load (two for codes longer than the root bits). One refill leaves at least 56 bits,
    /// enough for the longest length + distance pair (15 + 5 + 15 + 13 = 48 bits).
    func decodeHuffmanBlock() throws(InflateError) {
        guard let inputBase = input.baseAddress else { throw truncated() }
        let inputCount = input.count
        let fastInputEnd = inputCount - 8
        var bits = bitBuffer
        var count = bitCount
        var position = self.position
        var out = output.base
        var produced = output.count
        var capacity = output.capacity
        let windowStart = self.windowStart
        let literals = literalLengthTable.entries
        let literalMask = UInt64(1 << literalLengthTable.rootBits) - 1
        let distances = distanceTable.entries
        let distanceMask = UInt64(1 << distanceTable.rootBits) - 1

        /// Stores the locals back so errors and the next block see the current position.
        func save() {
            bitBuffer = bits
            bitCount = count
            self.position = position
            output.count = produced
        }

        while true {
            if position <= fastInputEnd {
                let word = UInt64(littleEndian: UnsafeRawPointer(inputBase + position).loadUnaligned(as: UInt64.self))
                bits |= word &<< UInt64(count)
                position += (63 - count) >> 3
                count |= 56
            } else {
                while count <= 56 && position < inputCount {
                    bits |= UInt64(inputBase[position]) &<< UInt64(count)
                    position += 1
                    count += 8
                }
            }

            var entry = literals[Int(bits & literalMask)]
            if entry & HuffmanEntry.kindMask == HuffmanEntry.subtable {
                let root = HuffmanEntry.consumed(entry)
                guard root <= count else {
                    save()
                    throw truncated()
                }
                bits &>>= UInt64(root)
                count -= root
                entry =
                    literals[
                        HuffmanEntry.value(entry)
                            + Int(bits & ((1 &<< UInt64(HuffmanEntry.extraBits(entry))) &- 1))]
            }
            var consumed = HuffmanEntry.consumed(entry)
            guard consumed <= count else {
                save()
                throw truncated()
            }
            bits &>>= UInt64(consumed)
            count -= consumed

            switch entry & HuffmanEntry.kindMask {
            case HuffmanEntry.literal:
                if produced >= capacity {
                    save()
                    try output.grow(toHold: 1, after: produced, inputOffset: bitOffset)
                    out = output.base
                    capacity = output.capacity
                }
                out[produced] = UInt8(truncatingIfNeeded: entry >> 16)
                produced += 1
                continue
            case HuffmanEntry.base:
                break
            case HuffmanEntry.endOfBlock:
                save()
                return
            default:
                save()
                throw failure(.invalidSymbol, "literal/length symbol 286 or 287, or a code outside the Huffman code")
            }

            var extra = HuffmanEntry.extraBits(entry)
            guard extra <= count else {
                save()
                throw truncated()
            }
            let length = HuffmanEntry.value(entry) + Int(bits & ((1 &<< UInt64(extra)) &- 1))
            bits &>>= UInt64(extra)
            count -= extra

            entry = distances[Int(bits & distanceMask)]
            if entry & HuffmanEntry.kindMask == HuffmanEntry.subtable {
                let root = HuffmanEntry.consumed(entry)
                guard root <= count else {
                    save()
                    throw truncated()
                }
                bits &>>= UInt64(root)
                count -= root
                entry =
                    distances[
                        HuffmanEntry.value(entry)
                            + Int(bits & ((1 &<< UInt64(HuffmanEntry.extraBits(entry))) &- 1))]
            }
            consumed = HuffmanEntry.consumed(entry)
            guard consumed <= count else {
                save()
                throw truncated()
            }
            guard entry & HuffmanEntry.kindMask == HuffmanEntry.base else {
                save()
                throw failure(.invalidSymbol, "distance symbol 30 or 31, or a code outside the distance Huffman code")
            }
            bits &>>= UInt64(consumed)
            count -= consumed
            extra = HuffmanEntry.extraBits(entry)
            guard extra <= count else {
                save()
                throw truncated()
            }
            let distance = HuffmanEntry.value(entry) + Int(bits & ((1 &<< UInt64(extra)) &- 1))
            bits &>>= UInt64(extra)
            count -= extra

            guard distance <= produced - windowStart else {
                save()
                throw failure(
                    .distanceTooFarBack,
                    "a match refers \(distance) \(distance == 1 ? "byte" : "bytes") back, but only "
                        + "\(produced - windowStart) \(produced - windowStart == 1 ? "byte precedes" : "bytes precede") it"
                )
            }
            if produced + length > capacity {
                save()
                try output.grow(toHold: length, after: produced, inputOffset: bitOffset)
                out = output.base
                capacity = output.capacity
            }
            DeflateDecoder.copyMatch(to: out + produced, distance: distance, length: length)
            produced += length
        }
    }

    /// Copies `length` bytes from `distance` bytes back; may write up to 7 bytes past the end (into the slack).
    @inline(__always)
    static func copyMatch(to destination: UnsafeMutablePointer<UInt8>, distance: Int, length: Int) {
        let source = destination - distance
        if distance >= 8 {
            var offset = 0
            repeat {
                let word = UnsafeRawPointer(source + offset).loadUnaligned(as: UInt64.self)
                UnsafeMutableRawPointer(destination + offset).storeBytes(of: word, as: UInt64.self)
                offset += 8
            } while offset < length
        } else if distance == 1 {
            destination.update(repeating: source.pointee, count: length)
        } else {
            for offset in 0..<length { destination[offset] = source[offset] }
        }
    }
}
