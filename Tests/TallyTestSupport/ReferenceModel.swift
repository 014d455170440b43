import TallyCore
import TallyEngine

/// A deliberately simple re-implementation of ingest decisions and counters, recomputed from the whole
/// event list, to check the engine's incremental projections against.
public struct ReferenceModel {
    public let now: Timestamp
    public let backdate: Int64
    public let future: Int64
    /// Accepted events in offset order.
    public private(set) var accepted: [Event] = []
    /// Ids (tenant + id) of accepted events that were voided.
    public private(set) var voided: Set<String> = []

    public init(now: Timestamp, backdate: Int64 = 35 * 86_400_000_000, future: Int64 = 300_000_000) {
        self.now = now
        self.backdate = backdate
        self.future = future
    }

    private static func identity(_ tenant: TenantID, _ id: String) -> String { "\(tenant)/\(id)" }

    /// Decides one event the way the engine must, and records it if accepted.
    public mutating func ingest(_ event: Event, live: Bool = true) -> IngestOutcome {
        if event.time.microseconds > now.microseconds + future { return .rejected(reason: "future") }
        let key = Self.identity(event.tenantId, event.id)
        if live && event.time.microseconds < now.microseconds - backdate {
            // A retry of an event whose id is still remembered (to the hour) is its duplicate, however old.
            let earliest = Timestamp(microseconds: now.microseconds - backdate)
            if let index = accepted.firstIndex(where: {
                Self.identity($0.tenantId, $0.id) == key && DedupIndex.remembers($0.time, cutoff: earliest)
            }) {
                return .duplicate(offset: UInt64(index))
            }
            return .rejected(reason: "past")
        }
        if let index = accepted.firstIndex(where: { Self.identity($0.tenantId, $0.id) == key }) {
            return .duplicate(offset: UInt64(index))
        }
        if case .eventVoided(let target, _) = event.payload {
            let targetKey = Self.identity(event.tenantId, target)
            guard let original = accepted.first(where: { Self.identity($0.tenantId, $0.id) == targetKey }),
                original.type == .apiCall || original.type == .storageChanged,
                !voided.contains(targetKey)
            else { return .rejected(reason: "void") }
            voided.insert(targetKey)
        }
        accepted.append(event)
        return .accepted(offset: UInt64(accepted.count - 1))
    }

    private func isVoided(_ event: Event) -> Bool { voided.contains(Self.identity(event.tenantId, event.id)) }

    /// The tenant's statistics, recomputed from scratch.
    public func tenantStats(_ tenant: TenantID) -> TenantStats? {
        let events = accepted.filter { $0.tenantId == tenant }
        guard !events.isEmpty else { return nil }
        var projection = TenantProjection()
        // Tenant record, users, credentials, keys and clients: the state machines, step by step.
        var users: [String: (role: UserRole, active: Bool)] = [:]
        var credentials: [String: (state: String, expires: Timestamp?)] = [:]
        var keys: [String: (state: String, expires: Timestamp?)] = [:]
        var clients: [String: Bool] = [:]
        // Storage: the latest measurement by event time (the later stored on a tie), plus every change not
        // voided timed at or after it; whatever order they arrived in.
        var measured: (time: Timestamp, used: Int64)?
        for event in events {
            if case .storageMeasured(let used) = event.payload, measured.map({ event.time >= $0.time }) ?? true {
                measured = (event.time, used)
            }
        }
        var storage = measured?.used ?? 0
        for event in events {
            if case .storageChanged(let delta) = event.payload, !isVoided(event),
                measured.map({ event.time >= $0.time }) ?? true
            {
                storage += delta
            }
        }
        for event in events {
            switch event.payload {
            case .userCreated(let id, let role): if users[id] == nil { users[id] = (role, true) }
            case .userRoleChanged(let id, let role): if users[id] != nil { users[id]?.role = role }
            case .userDeactivated(let id): if users[id] != nil { users[id]?.active = false }
            case .userActivated(let id): if users[id] != nil { users[id]?.active = true }
            case .userDeleted(let id): users[id] = nil
            case .credentialCreated(let id, let expires):
                if credentials[id] == nil { credentials[id] = ("active", expires) }
            case .credentialExpired(let id):
                if credentials[id]?.state == "active" { credentials[id]?.state = "expired" }
            case .credentialRevoked(let id): if credentials[id] != nil { credentials[id]?.state = "revoked" }
            case .keyCreated(let id, _, let expires): if keys[id] == nil { keys[id] = ("active", expires) }
            case .keyRevoked(let id):
                if let key = keys[id], key.state == "active", key.expires.map({ event.time < $0 }) ?? true {
                    keys[id]?.state = "revoked"
                }
            case .oauthClientCreated(let id): if clients[id] == nil { clients[id] = true }
            case .oauthClientDisabled(let id): if clients[id] == true { clients[id] = false }
            case .tenantCreated(let creation):
                if !projection.isRegistered {
                    projection.isRegistered = true
                    projection.name = creation.name
                    projection.settings = creation.settings
                }
            case .tenantUpdated(let update):
                if projection.isRegistered {
                    if let name = update.name { projection.name = name }
                    if let settings = update.settings { TenantSettings.merge(settings, into: &projection.settings) }
                }
            default: break
            }
        }
        let expired = { (expires: Timestamp?) in expires.map { $0 <= now } ?? false }
        let activeCredentials = credentials.values.filter { $0.state == "active" && !expired($0.expires) }.count
        let expiredCredentials = credentials.values.filter {
            $0.state == "expired" || ($0.state == "active" && expired($0.expires))
        }.count
        let calls = events.filter { $0.type == .apiCall && !isVoided($0) }
        let month = now.monthIndex
        let megabyte: Int64 = 1 << 20
        var stats = TenantStats(projection, tenantId: tenant, now: now)
        stats.status = .active
        stats.users = .init(
            total: users.count, active: users.values.filter(\.active).count,
            inactive: users.values.filter { !$0.active }.count,
            admins: users.values.filter { $0.role == .admin }.count)
        stats.credentials = .init(
            total: activeCredentials + expiredCredentials, active: activeCredentials,
            expired: expiredCredentials)
        stats.apiKeys = .init(
            total: keys.values.filter { !($0.state == "active" && expired($0.expires)) }.count,
            active: keys.values.filter { $0.state == "active" && !expired($0.expires) }.count,
            revoked: keys.values.filter { $0.state == "revoked" }.count)
        stats.oauthClients = .init(total: clients.count, active: clients.values.filter { $0 }.count)
        stats.usage = .init(
            apiCallsThisMonth: Int64(calls.filter { $0.time.monthIndex == month }.count),
            apiCallsLastMonth: Int64(calls.filter { $0.time.monthIndex == month - 1 }.count),
            storageUsedMB: (max(0, storage) + megabyte - 1) / megabyte,
            storageQuotaMB: TenantSettings.storageQuotaMB(projection.settings))
        stats.lastActivity = events.map(\.time).max()
        return stats
    }

    /// Per-key request counters and the five most recently used keys, recomputed from scratch.
    public func keyUsage(_ tenant: TenantID) -> (requests: Int64, limited: Int64, errors: Int64, recent: [String]) {
        let calls = accepted.filter { $0.tenantId == tenant }.compactMap { event -> (Event, APICall)? in
            if case .apiCall(let call) = event.payload { return (event, call) }
            return nil
        }
        let counted = calls.filter { !isVoided($0.0) }.map(\.1)
        // In log order: a call moves its key's last use forward, a void never moves it back, but a key left
        // with no calls has no last use (and leaves the recent keys).
        var lastUsed: [String: Timestamp] = [:]
        var live: [String: Int] = [:]
        for event in accepted where event.tenantId == tenant {
            switch event.payload {
            case .apiCall(let call):
                live[call.keyId, default: 0] += 1
                lastUsed[call.keyId] = max(lastUsed[call.keyId] ?? .min, event.time)
            case .eventVoided(let target, _):
                guard let (_, call) = calls.first(where: { $0.0.id == target }) else { continue }
                live[call.keyId, default: 0] -= 1
                if live[call.keyId] == 0 { lastUsed[call.keyId] = nil }
            default: continue
            }
        }
        let recent = lastUsed.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(5).map(
            \.key)
        return (
            Int64(counted.count), Int64(counted.filter { $0.status == 429 }.count),
            Int64(counted.filter { $0.status >= 400 && $0.status != 429 }.count), recent
        )
    }
}
