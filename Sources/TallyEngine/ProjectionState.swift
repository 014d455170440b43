import TallyCore

/// Every tenant's projection and how much of the log they cover.
public struct ProjectionState: Sendable, Equatable {
    /// Projections by tenant.
    public var tenants = TenantTable()
    /// One past the last offset applied: the log prefix these projections reflect.
    public var nextOffset: UInt64 = 0
    /// Changes whenever a `tenant.*` event is applied (what the tenants list shows), so a reader can tell
    /// that a list it built is still current without looking at every tenant. Not saved in checkpoints and
    /// not compared: it only orders changes within one process.
    public private(set) var tenantRecordsVersion: UInt64 = 0
    /// The tenant of each recent `tenant.*` event, in order: the change to version
    /// `tenantChangesBase + 1 + i` is `tenantChanges[i]`. Lets a reader bring a list it built up to date by
    /// the few tenants that changed, instead of reading every tenant again.
    private var tenantChanges: [TenantID] = []
    private var tenantChangesBase: UInt64 = 0
    /// How many changes are kept at least (16 bytes each): a reader further behind reads every tenant.
    static let tenantChangesKept = 65_536

    /// Creates the state of an empty log: no tenants, nothing applied.
    public init() {}

    /// Equal when the projections and the offset they cover are.
    public static func == (lhs: ProjectionState, rhs: ProjectionState) -> Bool {
        lhs.nextOffset == rhs.nextOffset && lhs.tenants == rhs.tenants
    }

    /// Applies one event at its offset (with, for a void, its target).
    public mutating func apply(_ event: Event, offset: UInt64, voidedTarget: Event?) {
        tenants.modify(event.tenantId) { $0.apply(event, voidedTarget: voidedTarget) }
        switch event.type {
        case .tenantCreated, .tenantUpdated, .tenantDeleted:
            tenantRecordsVersion &+= 1
            tenantChanges.append(event.tenantId)
            if tenantChanges.count >= 2 * Self.tenantChangesKept {
                let dropped = tenantChanges.count - Self.tenantChangesKept
                tenantChanges.removeFirst(dropped)
                tenantChangesBase += UInt64(dropped)
            }
        default: break
        }
        nextOffset = offset + 1
    }

    /// The tenants whose records changed after `version` (one per `tenant.*` event, so a tenant may appear
    /// more than once), or `nil` when those changes are no longer kept (or `version` is not one of this
    /// state's).
    public func tenantsChanged(since version: UInt64) -> ArraySlice<TenantID>? {
        guard version >= tenantChangesBase, version <= tenantRecordsVersion else { return nil }
        return tenantChanges[Int(version - tenantChangesBase)...]
    }

    /// Applies an `api.call` as replay reads it (see ``ReplayPipeline/Entry``), with its key id's bytes.
    mutating func applyCall(_ entry: ReplayPipeline.Entry, keyId: UnsafeRawBufferPointer) {
        tenants.modify(entry.tenant) {
            $0.applyCall(keyId: keyId, keyHash: entry.keyHash, status: entry.status, at: entry.time, month: entry.month)
        }
        nextOffset = entry.offset + 1
    }
}
