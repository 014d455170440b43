/// The changed fields of `tenant.updated`; `nil` means unchanged.
public struct TenantUpdate: Sendable, Equatable {
    /// A new name.
    public var name: String?
    /// A new status.
    public var status: TenantStatus?
    /// A new partner: `.some(nil)` clears it.
    public var partnerId: String??
    /// Settings to merge: each member replaces the setting of that name, and a `null` value removes it.
    public var settings: JSONObject?

    /// Creates the fields of a `tenant.updated` event.
    public init(
        name: String? = nil, status: TenantStatus? = nil, partnerId: String?? = nil,
        settings: JSONObject? = nil
    ) {
        self.name = name
        self.status = status
        self.partnerId = partnerId
        self.settings = settings
    }

    /// Whether the update changes nothing.
    public var isEmpty: Bool { name == nil && status == nil && partnerId == nil && settings == nil }

}
