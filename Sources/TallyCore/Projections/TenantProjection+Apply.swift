extension TenantProjection {
    /// Applies one accepted event.
    ///
    /// - Parameters:
    ///   - event: The event.
    ///   - voidedTarget: For `event.voided`, the event it retracts (found by the engine); ignored otherwise.
    public mutating func apply(_ event: Event, voidedTarget: Event? = nil) {
        if lastActivity.map({ event.time > $0 }) ?? true { lastActivity = event.time }
        switch event.payload {
        case .apiCall(let call):
            recordCall(call, at: event.time, sign: 1)
        case .keyCreated(let keyId, let name, let expiresAt):
            let position = keys.positionInserting(keyId)
            guard keys[position: position].state == .unregistered else { return }
            keys[position: position].state = .active
            keys[position: position].name = name
            keys[position: position].expiresAt = expiresAt
            keys[position: position].createdAt = event.time
            registeredKeys += 1
            activeKeys += 1
            if let expiresAt { keyExpiries.insert(expiresAt) }
        case .keyRevoked(let keyId):
            guard let position = keys.position(of: keyId), keys[position: position].state == .active else { return }
            // A key already past its expiry when revoked (by the revocation's time) stays expired: revoking it
            // changes nothing, as a second revocation does not.
            if let expiresAt = keys[position: position].expiresAt, event.time >= expiresAt { return }
            keys[position: position].state = .revoked
            activeKeys -= 1
            revokedKeys += 1
            if let expiresAt = keys[position: position].expiresAt { keyExpiries.remove(expiresAt) }
        case .userCreated(let userId, let role):
            guard users[userId] == nil else { return }
            users[userId] = UserEntry(role: role, isActive: true)
            userCount += 1
            activeUsers += 1
            if role == .admin { adminUsers += 1 }
        case .userRoleChanged(let userId, let role):
            guard var user = users[userId], user.role != role else { return }
            adminUsers += role == .admin ? 1 : -1
            user.role = role
            users[userId] = user
        case .userDeactivated(let userId):
            guard var user = users[userId], user.isActive else { return }
            user.isActive = false
            users[userId] = user
            activeUsers -= 1
        case .userActivated(let userId):
            guard var user = users[userId], !user.isActive else { return }
            user.isActive = true
            users[userId] = user
            activeUsers += 1
        case .userDeleted(let userId):
            guard let user = users.removeValue(forKey: userId) else { return }
            userCount -= 1
            if user.isActive { activeUsers -= 1 }
            if user.role == .admin { adminUsers -= 1 }
        case .credentialCreated(let credentialId, let expiresAt):
            guard credentials[credentialId] == nil else { return }
            credentials[credentialId] = CredentialEntry(state: .active, expiresAt: expiresAt)
            activeCredentials += 1
            if let expiresAt { credentialExpiries.insert(expiresAt) }
        case .credentialExpired(let credentialId):
            guard var credential = credentials[credentialId], credential.state == .active else { return }
            credential.state = .expired
            credentials[credentialId] = credential
            activeCredentials -= 1
            expiredCredentials += 1
            if let expiresAt = credential.expiresAt { credentialExpiries.remove(expiresAt) }
        case .credentialRevoked(let credentialId):
            guard var credential = credentials[credentialId], credential.state != .revoked else { return }
            if credential.state == .active {
                activeCredentials -= 1
                if let expiresAt = credential.expiresAt { credentialExpiries.remove(expiresAt) }
            } else {
                expiredCredentials -= 1
            }
            credential.state = .revoked
            credentials[credentialId] = credential
        case .oauthClientCreated(let clientId):
            guard oauthClients[clientId] == nil else { return }
            oauthClients[clientId] = true
            oauthClientCount += 1
            activeOAuthClients += 1
        case .oauthClientDisabled(let clientId):
            guard oauthClients[clientId] == true else { return }
            oauthClients[clientId] = false
            activeOAuthClients -= 1
        case .storageChanged(let delta):
            // A change timed before the latest measurement is already in it.
            guard storage.recordChange(at: event.time, delta: delta) else { return }
            storageBytes = TenantProjection.saturating(storageBytes, plus: delta)
        case .storageMeasured(let used):
            // The measurement plus the changes timed at or after it; one older than the latest changes nothing.
            guard let figure = storage.recordMeasurement(at: event.time, usedBytes: used) else { return }
            storageBytes = figure
        case .tenantCreated(let creation):
            guard !isRegistered else { return }
            isRegistered = true
            name = creation.name
            status = creation.status
            partnerId = creation.partnerId
            settings = creation.settings
            storageQuotaMB = TenantSettings.storageQuotaMB(settings)
            createdAt = event.time
            updatedAt = event.time
            if creation.status == .deleted { deletedAt = event.time }
        case .tenantUpdated(let update):
            // A deleted tenant changes only when restored: together with a status other than deleted.
            guard isRegistered, status != .deleted || (update.status != nil && update.status != .deleted) else {
                return
            }
            if let newName = update.name { name = newName }
            if let newStatus = update.status {
                deletedAt = newStatus == .deleted ? (status == .deleted ? deletedAt : recordTime(event.time)) : nil
                status = newStatus
            }
            if let partner = update.partnerId { partnerId = partner }
            if let changes = update.settings {
                TenantSettings.merge(changes, into: &settings)
                storageQuotaMB = TenantSettings.storageQuotaMB(settings)
            }
            updatedAt = recordTime(event.time)
        case .tenantDeleted:
            guard isRegistered, status != .deleted else { return }
            status = .deleted
            deletedAt = recordTime(event.time)
            updatedAt = recordTime(event.time)
        case .eventVoided:
            guard let target = voidedTarget else { return }
            switch target.payload {
            case .apiCall(let call): recordCall(call, at: target.time, sign: -1)
            case .storageChanged(let delta):
                // A change timed before the latest measurement is not in the figure: nothing to take back.
                guard storage.retractChange(at: target.time, delta: delta) else { break }
                storageBytes = TenantProjection.saturating(storageBytes, minus: delta)
            default: break
            }
        }
    }

    /// Whether `update` would change the record's name, status, partner or settings: one that sets each to
    /// what it already is changes nothing (the tenants API then stores no event, and `updated_at` stays).
    /// Names and settings compare by their bytes: `"e\u0301"` over a stored `"\u00e9"` is a change.
    public func isChanged(by update: TenantUpdate) -> Bool {
        if let newName = update.name, !(name.map { newName.hasSameUTF8(as: $0) } ?? false) { return true }
        if let newStatus = update.status, newStatus != status { return true }
        if let partner = update.partnerId, partner != partnerId { return true }
        if let changes = update.settings {
            var merged = settings
            TenantSettings.merge(changes, into: &merged)
            if merged != settings { return true }
        }
        return false
    }

    /// The time a change of the record at `time` stamps it with: never before the record's latest change
    /// (or its creation), so `updated_at` and `deleted_at` never run backwards when events arrive late.
    func recordTime(_ time: Timestamp) -> Timestamp {
        max(time, updatedAt ?? time)
    }

    /// `bytes + delta`, held at `Int64`'s bounds (±8 EiB) instead of wrapping: eight deltas of 1 EiB must not
    /// read as an empty tenant.
    static func saturating(_ bytes: Int64, plus delta: Int64) -> Int64 {
        let (sum, overflow) = bytes.addingReportingOverflow(delta)
        return overflow ? (delta > 0 ? .max : .min) : sum
    }

    /// `bytes - delta`, held at `Int64`'s bounds (a void's retraction).
    static func saturating(_ bytes: Int64, minus delta: Int64) -> Int64 {
        let (difference, overflow) = bytes.subtractingReportingOverflow(delta)
        return overflow ? (delta < 0 ? .max : .min) : difference
    }

    /// Whether an event of this type can be retracted by `event.voided`.
    public static func isVoidable(_ type: EventType) -> Bool {
        type == .apiCall || type == .storageChanged
    }

    /// Applies an `api.call` given by its parts, as replay reads them from a record without building an
    /// ``Event``: the same effect as ``apply(_:voidedTarget:)`` of the decoded call.
    /// - Parameters:
    ///   - keyId: The key id's UTF-8 bytes (valid UTF-8).
    ///   - keyHash: ``KeyTable/hash(utf8:)`` of those bytes.
    ///   - status: The call's HTTP status.
    ///   - time: The event time.
    ///   - month: `time.monthIndex`.
    public mutating func applyCall(
        keyId: UnsafeRawBufferPointer, keyHash: UInt64, status: UInt16,
        at time: Timestamp, month: Int
    ) {
        if lastActivity.map({ time > $0 }) ?? true { lastActivity = time }
        recordCall(
            status: status, at: time, month: month, sign: 1,
            keyAt: keys.positionInserting(utf8: keyId, hash: keyHash))
    }

    private mutating func recordCall(_ call: APICall, at time: Timestamp, sign: Int64) {
        recordCall(
            status: call.status, at: time, month: time.monthIndex, sign: sign,
            keyAt: keys.positionInserting(call.keyId))
    }

    /// Counts (sign 1) or retracts (sign -1) one call in its month, its key and the status counters; a
    /// counted call also moves the key's last-used time forward. The key's entry is updated in place.
    @inline(__always)
    private mutating func recordCall(status: UInt16, at time: Timestamp, month: Int, sign: Int64, keyAt position: Int) {
        let calls = max(0, callsIn(month: month) + sign)
        if let spilled = recentMonths.update(month: month, total: calls) {
            apiCallsByMonth[spilled.month] = spilled.calls > 0 ? spilled.calls : nil
        }
        let limited = status == 429
        let failed = !limited && status >= 400
        totalRequests = max(0, totalRequests + sign)
        if limited { totalRateLimitHits = max(0, totalRateLimitHits + sign) }
        if failed { totalErrors = max(0, totalErrors + sign) }
        let movedForward = TenantProjection.count(
            sign, limited: limited, failed: failed, at: time,
            in: &keys[position: position])
        if movedForward { touchRecent(keyAt: position, at: time) }
        // A key whose every call is voided has not been used: its last-used time goes, and so does its place
        // among the recent keys. (While it has other calls, the time stays: the one before is not kept.)
        if sign < 0 && keys[position: position].requests == 0 && keys[position: position].lastUsed != nil {
            keys[position: position].lastUsed = nil
            dropRecent(keyAt: position)
        }
    }

    /// Takes the key at `keyPosition` out of the recent-keys list, and fills a full list's freed place with the
    /// most recently used key not listed (a scan of the tenant's keys, only when a void leaves a listed key
    /// with no calls).
    private mutating func dropRecent(keyAt keyPosition: Int) {
        guard let index = recentKeys.firstIndex(where: { $0.keyPosition == keyPosition }) else { return }
        let wasFull = recentKeys.count == TenantProjection.recentKeyLimit
        recentKeys.remove(at: index)
        guard wasFull else { return }
        var next: RecentKey?
        for position in 0..<keys.count where !recentKeys.contains(where: { $0.keyPosition == position }) {
            guard let used = keys[position: position].lastUsed else { continue }
            if let best = next,
                used < best.lastUsed || (used == best.lastUsed && keys.id(at: best.keyPosition) < keys.id(at: position))
            {
                continue
            }
            next = RecentKey(keyPosition: position, lastUsed: used)
        }
        if let next { recentKeys.append(next) }
    }

    /// Counts or retracts a call in a key's entry; `true` when its last-used time moved forward.
    @inline(__always)
    private static func count(
        _ sign: Int64, limited: Bool, failed: Bool, at time: Timestamp,
        in entry: inout KeyEntry
    ) -> Bool {
        entry.requests = max(0, entry.requests + sign)
        if limited { entry.rateLimitHits = max(0, entry.rateLimitHits + sign) }
        if failed { entry.errors = max(0, entry.errors + sign) }
        guard sign > 0, entry.lastUsed.map({ $0 < time }) ?? true else { return false }
        entry.lastUsed = time
        return true
    }

    /// Keeps the recent-keys list ordered (newest first, ties by key id) after the last use of the key at
    /// `keyPosition` in ``keys`` moved forward to `time`. The key can only move towards the front, so the list
    /// is shifted in place. Keys are recognised by position; their ids are compared only to break a tie.
    private mutating func touchRecent(keyAt keyPosition: Int, at time: Timestamp) {
        let count = recentKeys.count
        if count > 0 && recentKeys[0].keyPosition == keyPosition {
            recentKeys[0].lastUsed = time
            return
        }
        var existing: Int?
        for index in 1..<max(1, count) where recentKeys[index].keyPosition == keyPosition {
            existing = index
            break
        }
        let limit = existing ?? count
        var position = 0
        while position < limit {
            let other = recentKeys[position]
            guard
                other.lastUsed > time
                    || (other.lastUsed == time && keys.id(at: other.keyPosition) < keys.id(at: keyPosition))
            else { break }
            position += 1
        }
        guard position < TenantProjection.recentKeyLimit else { return }
        let touched = RecentKey(keyPosition: keyPosition, lastUsed: time)
        var last = existing ?? count
        if existing == nil {
            if count < TenantProjection.recentKeyLimit {
                recentKeys.append(touched)
            } else {
                last -= 1
            }
        }
        recentKeys.withUnsafeMutableBufferPointer { list in
            var index = last
            while index > position {
                list[index] = list[index - 1]
                index -= 1
            }
            list[position] = touched
        }
    }
}
