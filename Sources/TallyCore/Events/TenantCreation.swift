/// The fields of `tenant.created`.
public struct TenantCreation: Sendable, Equatable {
    /// The tenant's display name.
    public var name: String
    /// The initial status (default `active`).
    public var status: TenantStatus
    /// The partner that resells this tenant, if any.
    public var partnerId: String?
    /// Tenant settings such as `storage_quota_mb` or `mfa_required`.
    public var settings: JSONObject

    /// Creates the fields of a `tenant.created` event.
    public init(
        name: String, status: TenantStatus = .active, partnerId: String? = nil,
        settings: JSONObject = JSONObject()
    ) {
        self.name = name
        self.status = status
        self.partnerId = partnerId
        self.settings = settings
    }
}
