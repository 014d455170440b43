import TallyCore

/// Who is calling, as the bearer token says.
public struct Principal: Sendable, Equatable {
    /// The roles Tally understands.
    public enum Role: String, Sendable, CaseIterable {
        /// Everything, for every tenant.
        case superAdmin = "super_admin"
        /// Its own tenant's stats, API-key stats and tenant record.
        case tenantAdmin = "tenant_admin"
        /// Its own organization's API-key stats.
        case member
        /// Ingest events (for its tenant, or any tenant without a `tenant_id` claim).
        case ingest
    }

    /// The token's roles Tally understands (others are ignored).
    public var roles: Set<Role>
    /// The tenant the token is bound to (`tenant_id` claim), if any.
    public var tenantId: TenantID?
    /// Whether a secret kept only for a rotation's overlap signed the token (see `--jwt-previous-secret-file`):
    /// the requests such tokens make are counted, so the old secret can be dropped once they stop.
    public var viaPreviousSecret: Bool

    /// Creates a principal.
    public init(roles: Set<Role>, tenantId: TenantID?, viaPreviousSecret: Bool = false) {
        self.roles = roles
        self.tenantId = tenantId
        self.viaPreviousSecret = viaPreviousSecret
    }

    /// Whether the principal may do everything.
    public var isSuperAdmin: Bool { roles.contains(.superAdmin) }

    /// Whether the principal may read `tenant`'s stats and tenant record, and change the record's name and
    /// settings (status, partner and storage quota are the platform's: ``isSuperAdmin`` only).
    func mayAdminister(_ tenant: TenantID) -> Bool {
        isSuperAdmin || (roles.contains(.tenantAdmin) && tenantId == tenant)
    }

    /// Whether the principal may read `tenant`'s API-key stats (members of the organization and its admins).
    func mayReadKeys(of tenant: TenantID) -> Bool {
        isSuperAdmin || ((roles.contains(.member) || roles.contains(.tenantAdmin)) && tenantId == tenant)
    }

    /// Whether the principal may ingest events at all (for some tenant): the `ingest` or `super_admin` role.
    var mayIngest: Bool { isSuperAdmin || roles.contains(.ingest) }

    /// Whether the principal may ingest events for `tenant`.
    func mayIngest(for tenant: TenantID) -> Bool {
        isSuperAdmin || (mayIngest && (tenantId == nil || tenantId == tenant))
    }

    /// Whether the principal may ingest an event of this type: `tenant.*` events create, change and delete
    /// tenant records, which the tenants API allows `super_admin` only, so they need that role here too.
    func mayIngest(_ type: EventType) -> Bool {
        switch type {
        case .tenantCreated, .tenantUpdated, .tenantDeleted: isSuperAdmin
        default: true
        }
    }
}
