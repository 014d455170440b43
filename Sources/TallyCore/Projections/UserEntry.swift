/// A user's state.
public struct UserEntry: Sendable, Equatable {
    /// The user's role; admins count in ``TenantProjection/adminUsers``.
    public var role: UserRole
    /// `false` after `user.deactivated`, until a `user.activated`.
    public var isActive: Bool

    /// Creates a user's state.
    public init(role: UserRole, isActive: Bool) {
        self.role = role
        self.isActive = isActive
    }
}
