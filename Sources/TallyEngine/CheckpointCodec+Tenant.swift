import TallyCore

// One tenant's projection, field by field, and the helpers both directions share.

extension CheckpointCodec {
    static func writeTime(_ time: Timestamp?, _ writer: inout BinaryWriter) {
        writer.writeUInt8(time == nil ? 0 : 1)
        if let time { writer.writeInt64(time.microseconds) }
    }

    static func readTime(_ reader: inout BinaryReader) throws -> Timestamp? {
        try reader.readUInt8() == 0 ? nil : Timestamp(microseconds: try reader.readInt64())
    }

    static func writeText(_ text: String?, _ writer: inout BinaryWriter) {
        writer.writeUInt8(text == nil ? 0 : 1)
        if let text { writer.writeString(text) }
    }

    static func readText(_ reader: inout BinaryReader) throws -> String? {
        try reader.readUInt8() == 0 ? nil : try reader.readString()
    }

    static func writeCount(_ value: Int, _ writer: inout BinaryWriter) {
        writer.writeInt64(Int64(value))
    }

    static func readCount(_ reader: inout BinaryReader) throws -> Int {
        Int(try reader.readInt64())
    }

    static func encode(_ projection: TenantProjection, into writer: inout BinaryWriter) {
        writeText(projection.name, &writer)
        writer.writeUInt8(UInt8(TenantStatus.allCases.firstIndex(of: projection.status) ?? 0))
        writeText(projection.partnerId, &writer)
        EventCodec.encodeObject(projection.settings, into: &writer)
        writer.writeUInt8(projection.isRegistered ? 1 : 0)
        writeTime(projection.createdAt, &writer)
        writeTime(projection.updatedAt, &writer)
        writeTime(projection.deletedAt, &writer)
        writeTime(projection.lastActivity, &writer)
        writer.writeVarint(UInt64(projection.users.count))
        for (id, user) in projection.users {
            writer.writeString(id)
            writer.writeUInt8((user.role == .admin ? 1 : 0) | (user.isActive ? 2 : 0))
        }
        writeCount(projection.activeUsers, &writer)
        writeCount(projection.adminUsers, &writer)
        writer.writeVarint(UInt64(projection.credentials.count))
        for (id, credential) in projection.credentials {
            writer.writeString(id)
            writer.writeUInt8(credential.state.rawValue)
            writeTime(credential.expiresAt, &writer)
        }
        writeCount(projection.activeCredentials, &writer)
        writeCount(projection.expiredCredentials, &writer)
        writeExpiries(projection.credentialExpiries, &writer)
        writer.writeVarint(UInt64(projection.keys.count))
        for (id, key) in projection.keys {
            writer.writeString(id)
            writer.writeUInt8(key.state.rawValue)
            writeText(key.name, &writer)
            writeTime(key.expiresAt, &writer)
            writeTime(key.createdAt, &writer)
            writer.writeInt64(key.requests)
            writer.writeInt64(key.rateLimitHits)
            writer.writeInt64(key.errors)
            writeTime(key.lastUsed, &writer)
        }
        writeCount(projection.registeredKeys, &writer)
        writeCount(projection.activeKeys, &writer)
        writeCount(projection.revokedKeys, &writer)
        writeExpiries(projection.keyExpiries, &writer)
        writer.writeVarint(UInt64(projection.recentKeys.count))
        for recent in projection.recentKeys { writer.writeString(projection.keys.id(at: recent.keyPosition)) }
        writer.writeVarint(UInt64(projection.oauthClients.count))
        for (id, active) in projection.oauthClients {
            writer.writeString(id)
            writer.writeUInt8(active ? 1 : 0)
        }
        writeCount(projection.activeOAuthClients, &writer)
        writer.writeVarint(UInt64(projection.apiCallsByMonth.count))
        for (month, calls) in projection.apiCallsByMonth {
            writer.writeInt64(Int64(month))
            writer.writeInt64(calls)
        }
        writer.writeInt64(projection.totalRequests)
        writer.writeInt64(projection.totalRateLimitHits)
        writer.writeInt64(projection.totalErrors)
        writer.writeInt64(projection.storageBytes)
        writeTime(projection.storage.measuredTime, &writer)
        writeTime(projection.storage.coveredBefore, &writer)
        writer.writeVarint(UInt64(projection.storage.buckets.count))
        for bucket in projection.storage.buckets {
            writer.writeInt64(bucket.first.microseconds)
            writer.writeInt64(bucket.last.microseconds)
            writer.writeInt64(bucket.sum)
        }
        let months = projection.recentMonths
        for (month, calls) in [
            (months.months.0, months.calls.0), (months.months.1, months.calls.1),
            (months.months.2, months.calls.2),
        ] {
            writer.writeInt64(Int64(month))
            writer.writeInt64(calls)
        }
    }

    static func writeExpiries(_ index: ExpiryIndex, _ writer: inout BinaryWriter) {
        writer.writeVarint(UInt64(index.times.count))
        for time in index.times { writer.writeInt64(time) }
    }

    static func readExpiries(_ reader: inout BinaryReader) throws -> ExpiryIndex {
        var index = ExpiryIndex()
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 8)) {
            index.insert(Timestamp(microseconds: try reader.readInt64()))
        }
        return index
    }

    static func boundedCount(_ reader: inout BinaryReader, minimumBytes: Int) throws -> Int {
        let count = try reader.readVarint()
        guard count <= UInt64(reader.remaining / minimumBytes) else {
            throw Problem(description: "count \(count) exceeds file")
        }
        return Int(count)
    }

    static func decodeProjection(_ reader: inout BinaryReader) throws -> TenantProjection {
        var projection = TenantProjection()
        projection.name = try readText(&reader)
        let status = Int(try reader.readUInt8())
        guard status < TenantStatus.allCases.count else { throw Problem(description: "bad tenant status") }
        projection.status = TenantStatus.allCases[status]
        projection.partnerId = try readText(&reader)
        projection.settings = try EventCodec.decodeObject(from: &reader)
        projection.isRegistered = try reader.readUInt8() == 1
        projection.createdAt = try readTime(&reader)
        projection.updatedAt = try readTime(&reader)
        projection.deletedAt = try readTime(&reader)
        projection.lastActivity = try readTime(&reader)
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 2)) {
            let id = try reader.readString()
            let flags = try reader.readUInt8()
            projection.users[id] = UserEntry(role: flags & 1 != 0 ? .admin : .member, isActive: flags & 2 != 0)
        }
        projection.activeUsers = try readCount(&reader)
        projection.adminUsers = try readCount(&reader)
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 3)) {
            let id = try reader.readString()
            guard let state = CredentialState(rawValue: try reader.readUInt8()) else {
                throw Problem(description: "bad credential state")
            }
            projection.credentials[id] = CredentialEntry(state: state, expiresAt: try readTime(&reader))
        }
        projection.activeCredentials = try readCount(&reader)
        projection.expiredCredentials = try readCount(&reader)
        projection.credentialExpiries = try readExpiries(&reader)
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 30)) {
            let id = try reader.readString()
            var key = KeyEntry()
            guard let state = KeyState(rawValue: try reader.readUInt8()) else {
                throw Problem(description: "bad key state")
            }
            key.state = state
            key.name = try readText(&reader)
            key.expiresAt = try readTime(&reader)
            key.createdAt = try readTime(&reader)
            key.requests = try reader.readInt64()
            key.rateLimitHits = try reader.readInt64()
            key.errors = try reader.readInt64()
            key.lastUsed = try readTime(&reader)
            projection.keys.set(key, for: id)
        }
        projection.registeredKeys = try readCount(&reader)
        projection.activeKeys = try readCount(&reader)
        projection.revokedKeys = try readCount(&reader)
        projection.keyExpiries = try readExpiries(&reader)
        var recentIds: [String] = []
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 1)) { recentIds.append(try reader.readString()) }
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 2)) {
            let id = try reader.readString()
            projection.oauthClients[id] = try reader.readUInt8() == 1
        }
        projection.activeOAuthClients = try readCount(&reader)
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 16)) {
            let month = Int(try reader.readInt64())
            projection.apiCallsByMonth[month] = try reader.readInt64()
        }
        projection.totalRequests = try reader.readInt64()
        projection.totalRateLimitHits = try reader.readInt64()
        projection.totalErrors = try reader.readInt64()
        projection.storageBytes = try reader.readInt64()
        let measuredTime = try readTime(&reader)
        let coveredBefore = try readTime(&reader)
        var buckets: [StorageHistory.Bucket] = []
        for _ in 0..<(try boundedCount(&reader, minimumBytes: 24)) {
            let first = Timestamp(microseconds: try reader.readInt64())
            let last = Timestamp(microseconds: try reader.readInt64())
            // Buckets are kept in time order with disjoint spans, and never more than the limit.
            guard first <= last, buckets.last.map({ $0.last < first }) ?? true,
                buckets.count < StorageHistory.bucketLimit
            else { throw Problem(description: "storage buckets out of order or too many") }
            buckets.append(StorageHistory.Bucket(first: first, last: last, sum: try reader.readInt64()))
        }
        // A measurement covers changes from its own time or the start of the bucket it fell inside.
        guard (measuredTime == nil) == (coveredBefore == nil),
            measuredTime.map({ measured in coveredBefore.map { $0 <= measured } ?? false }) ?? true,
            coveredBefore.map({ covered in buckets.first.map { $0.first >= covered } ?? true }) ?? true
        else { throw Problem(description: "storage buckets disagree with the latest measurement") }
        projection.storage = StorageHistory(
            buckets: buckets, measuredTime: measuredTime, coveredBefore: coveredBefore)
        var months = RecentMonths()
        months.months.0 = Int(try reader.readInt64())
        months.calls.0 = try reader.readInt64()
        months.months.1 = Int(try reader.readInt64())
        months.calls.1 = try reader.readInt64()
        months.months.2 = Int(try reader.readInt64())
        months.calls.2 = try reader.readInt64()
        projection.recentMonths = months
        // Derived values are recomputed rather than stored.
        projection.recentKeys = try recentIds.map { id in
            guard let position = projection.keys.position(of: id) else {
                throw Problem(description: "recently used key \"\(id)\" is not among the tenant's keys")
            }
            return RecentKey(keyPosition: position, lastUsed: projection.keys[position: position].lastUsed ?? .min)
        }
        projection.userCount = projection.users.count
        projection.oauthClientCount = projection.oauthClients.count
        projection.storageQuotaMB = TenantSettings.storageQuotaMB(projection.settings)
        return projection
    }
}
