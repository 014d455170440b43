/// A tenant's lifecycle status.
public enum TenantStatus: String, Sendable, CaseIterable {
    /// In service: the status a tenant is created with unless its event names another.
    case active
    /// Suspended by the platform: a label only, its events are still accepted and counted.
    case suspended
    /// Soft-deleted: record and counters are kept, and a `tenant.updated` to another status restores it.
    case deleted
}
