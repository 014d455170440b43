/// A user's role within a tenant.
public enum UserRole: String, Sendable, CaseIterable {
    /// An ordinary user.
    case member
    /// An administrator, counted in the tenant's admins whether active or not.
    case admin
}
