import TallyCore
import TallyEngine

/// `tally stats TENANT` and `tally key-stats TENANT`: a tenant's statistics as JSON, as the HTTP API serves them.
struct StatsCommand {
    static let spec = CommandSpec(
        name: "stats",
        summary: "Print a tenant's statistics as JSON (the data of GET /api/v1/admin/tenants/{tenantId}/stats).",
        usage: "[options] TENANT",
        details: """
            Reads the newest checkpoint and the log after it, without the write lock (safe while a server runs).
            TENANT is the tenant's UUID. --at TIME reads the counters as of another instant ("this month",
            expiries), over the events stored now.

            Exit codes: 0 ok; 1 no such tenant or the store cannot be read; 2 usage; 3 the store is damaged.
            """,
        options: [
            StoreLocation.option,
            .init(name: "at", valueName: "TIME", help: "Read as of this RFC 3339 time (default now)."),
        ],
        positionalCount: 1...1
    )

    static let keySpec = CommandSpec(
        name: "key-stats",
        summary:
            "Print a tenant's API-key statistics as JSON (GET /api/organizations/{organizationId}/api-keys/stats).",
        usage: "[options] TENANT",
        details: """
            Totals, active, revoked and expired keys, requests, rate-limit hits (429) and errors (other
            statuses >= 400) across all keys, and the five most recently used keys.

            Exit codes: 0 ok; 1 no such tenant or the store cannot be read; 2 usage; 3 the store is damaged.
            """,
        options: [
            StoreLocation.option,
            .init(name: "at", valueName: "TIME", help: "Read as of this RFC 3339 time (default now)."),
        ],
        positionalCount: 1...1
    )

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        try run(arguments, io: io, spec: spec) { projection, tenant, now in
            TenantStats(projection, tenantId: tenant, now: now).json
        }
    }

    static func runKeys(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        try run(arguments, io: io, spec: keySpec) { projection, tenant, now in
            KeyStats(projection, tenantId: tenant, now: now).json
        }
    }

    private static func run(
        _ arguments: ParsedArguments, io: CommandIO, spec: CommandSpec,
        render: (TenantProjection, TenantID, Timestamp) -> JSONValue
    ) throws -> ExitCode {
        guard let tenant = TenantID(arguments.positionals[0]) else {
            throw UsageError("TENANT must be a UUID, got \"\(arguments.positionals[0])\"", command: spec.name)
        }
        let now = try CommandOptions.time(arguments, "at", command: spec.name) ?? Timestamp.now()
        var configuration = EngineConfiguration()
        configuration.store.log = { io.printError("tally: \($0)") }
        let state = try Engine.currentState(
            directory: try StoreLocation.existingStore(arguments), configuration: configuration)
        guard let projection = state.tenants[tenant] else {
            io.printError("tally \(spec.name): no events for tenant \(tenant)")
            return .failure
        }
        io.print(PrettyJSON.format(render(projection, tenant, now)))
        return .ok
    }
}
