import TallyAPI
import TallyAuth
import TallyCore

/// `tally token`: mints an HS256 bearer token with the server's secret.
struct TokenCommand {
    static let spec = CommandSpec(
        name: "token",
        summary: "Mint a bearer token (HS256 JWT) for the API.",
        usage: "--role ROLE [--role ROLE] [--tenant UUID] [--ttl 1h] [options]",
        details: """
            Roles: super_admin (everything), tenant_admin (its tenant's stats, API-key stats and record, whose
            name and settings but storage_quota_mb it may change), member (its organization's API-key stats),
            ingest (POST events, for its tenant or any tenant without --tenant).
            tenant_admin and member need --tenant (without one they would grant nothing), unless super_admin
            is granted too.
            The secret is the one `tally serve` uses (see --jwt-secret-file). Prints the token on one line.

            Exit codes: 0 ok; 1 no secret; 2 usage.
            """,
        options: [
            StoreLocation.option, JWTSecret.option,
            .init(name: "role", valueName: "ROLE", help: "A role to grant (repeatable).", repeatable: true),
            .init(name: "tenant", valueName: "UUID", help: "The tenant the token is bound to (tenant_id claim)."),
            .init(
                name: "ttl", valueName: "DURATION",
                help: "Lifetime such as 90s, 30m, 12h or 7d (default 1h, at most 3650d)."),
            .init(name: "subject", valueName: "TEXT", help: "The sub claim (default tally-cli)."),
        ],
        positionalCount: 0...0
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        // A role given twice is granted once.
        var roles: [String] = []
        for role in arguments.values["role"] ?? [] where !roles.contains(role) { roles.append(role) }
        guard !roles.isEmpty else { throw UsageError("--role is required", command: spec.name) }
        let subject = arguments.value("subject") ?? "tally-cli"
        guard !subject.isEmpty else {
            throw UsageError("--subject must not be empty: it names who the token is for", command: spec.name)
        }
        // The roles the server understands: a token with another would grant nothing.
        let known = Principal.Role.allCases.map(\.rawValue)
        for role in roles where Principal.Role(rawValue: role) == nil {
            throw UsageError(
                "unknown role \"\(role)\" (expected one of: \(known.joined(separator: ", ")))", command: spec.name)
        }
        var tenant: String?
        if let text = arguments.value("tenant") {
            guard let parsed = TenantID(text) else {
                throw UsageError("--tenant must be a UUID, got \"\(text)\"", command: spec.name)
            }
            tenant = parsed.description
        }
        // A tenant role is only ever granted on its tenant: without one, the token would be refused everywhere.
        if tenant == nil, !roles.contains(Principal.Role.superAdmin.rawValue),
            let bound = roles.first(where: {
                $0 == Principal.Role.tenantAdmin.rawValue || $0 == Principal.Role.member.rawValue
            })
        {
            throw UsageError(
                "--role \(bound) needs --tenant UUID: a \(bound) token is bound to its tenant and grants nothing without one",
                command: spec.name)
        }
        let ttl = try CommandOptions.duration(arguments, "ttl", default: 3600, command: spec.name)
        let loaded = try JWTSecret.load(
            arguments, storeDirectory: try StoreLocation.directory(arguments), create: false)
        let secret = loaded.secret
        // As `tally serve` warns: the token is minted all the same (standard output stays the token alone).
        if let warning = JWTSecret.permissionWarning(loaded.source) { io.printError("tally: warning: \(warning)") }
        let now = Timestamp.now().seconds
        let claims = JWTClaims(
            subject: subject, roles: roles, tenantId: tenant,
            expiresAt: now + ttl, issuedAt: now)
        let token = JWTSigner(secret: secret).sign(claims)
        // The server refuses longer tokens before reading them: never print one it would always turn away.
        guard token.utf8.count <= JWTVerifier.maximumTokenByteCount else {
            throw UsageError(
                "the token would be \(token.utf8.count) bytes, over the \(JWTVerifier.maximumTokenByteCount) bytes the server accepts: shorten --subject",
                command: spec.name)
        }
        io.print(token)
        return .ok
    }
}
