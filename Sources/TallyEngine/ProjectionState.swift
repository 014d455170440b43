import TallyCore

/// Every tenant's projection and how much of the log they cover.
public struct ProjectionState: Sendable, Equatable {
    /// Projections by tenant.
    public var tenants = TenantTable()
    /// One past the last offset applied: the log prefix these projections reflect.
    public var nextOffset: UInt64 = 0

    public init() {}

    /// Applies one event at its offset.
    public mutating func apply(_ event: Event, offset: UInt64, voidedTarget: Event?) {
        tenants.modify(event.tenantId) { $0.apply(event, voidedTarget: voidedTarget) }
        nextOffset = offset + 1
    }
}
