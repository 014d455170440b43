import TallyCore

/// `tally generate`: writes a realistic synthetic NDJSON event stream with times relative to now.
struct GenerateCommand {
    static let spec = CommandSpec(
        name: "generate",
        summary: "Write synthetic NDJSON events (tenants, users, keys, credentials, OAuth clients, storage, calls).",
        usage: "[--tenants N] [--events M] [--days D] [--seed S]",
        details: """
            Each tenant gets a tenant.created, users (some admins, some deactivated), credentials (some
            expiring), 3-8 API keys (one revoked), OAuth clients and storage events, all in the first half of
            the last D days (default 45); then M api.call events spread evenly up to now, so "this month" is
            never empty, each from a key its tenant created before the call. Statuses are
            mostly 2xx with some 429s and errors. The same seed gives the same stream (times shift with today).
            Event ids are gen-SEED-RUN-N, RUN a digest of --tenants, --events and --days: streams made with
            other options share no ids (their tenants are the seed's all the same), so one store takes them
            all; a stream sent twice is deduplicated.
            Events older than 35 days are outside live ingest's window: load them with `tally import`.

            --days is at most 36500.

            Exit codes: 0 ok; 1 output could not be written (a full disk, a closed pipe); 2 usage.
            """,
        options: [
            .init(name: "tenants", valueName: "N", help: "Number of tenants (default 3, at most 10000000)."),
            .init(name: "events", valueName: "M", help: "Number of api.call events (default 5000)."),
            .init(name: "days", valueName: "D", help: "Spread calls over the last D days (default 45)."),
            .init(name: "seed", valueName: "S", help: "Random seed (default 1)."),
        ],
        positionalCount: 0...0
    )

    /// SplitMix64: small, seedable, the same stream on every machine.
    struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Eight hex digits (FNV-1a, folded to 32 bits) of the options other than the seed that shape a stream.
    /// They go in every event id (`gen-SEED-RUN-N`), so streams of the same seed's tenants made with other
    /// options, posted to one store, share no ids, and none of their events is taken for a duplicate of
    /// another's; the same options give the same ids, so a stream sent twice is deduplicated.
    static func runTag(tenants: Int, events: Int, days: Int) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in "\(tenants)/\(events)/\(days)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        let folded = UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
        let digits = String(folded, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// The longest span `--days` accepts.
    static let maximumDays = 36_500
    /// The most tenants a stream sets up: each takes some 50 setup lines, so 10 million make a stream of
    /// tens of gigabytes before any call; a mistyped count stops at once instead of filling the disk.
    static let maximumTenants = 10_000_000

    /// How far after the start the `index`th of `count` calls lies, the calls spread evenly over `span`
    /// microseconds and the last one at its end. Exact for any count: the product is taken at full width,
    /// since 5M calls over 30 days already exceed 64 bits.
    static func callOffset(_ index: Int, of count: Int, span: Int64) -> Int64 {
        let product = span.multipliedFullWidth(by: Int64(index + 1))
        return Int64(count).dividingFullWidth(product).quotient
    }

    static func run(_ arguments: ParsedArguments, io: CommandIO) throws -> ExitCode {
        let tenants = try CommandOptions.positiveInt(
            arguments, "tenants", default: 3, maximum: maximumTenants, command: spec.name)
        let events = try CommandOptions.positiveInt(arguments, "events", default: 5000, command: spec.name)
        let days = try CommandOptions.positiveInt(
            arguments, "days", default: 45, maximum: maximumDays, about: " (100 years)", command: spec.name)
        var seed: UInt64 = 1
        if let text = arguments.value("seed") {
            guard CommandOptions.isWholeNumber(text), let number = UInt64(text) else {
                throw UsageError(
                    "--seed must be a whole number from 0 to \(UInt64.max), got \"\(text)\"", command: spec.name)
            }
            seed = number
        }
        var random = Generator(state: seed)
        let run = runTag(tenants: tenants, events: events, days: days)
        // Whole seconds: two runs with the same seed in the same second write the same bytes.
        let now = Timestamp(microseconds: Timestamp.now().microseconds / 1_000_000 * 1_000_000)
        let span = Int64(days) * 86_400_000_000
        let start = Timestamp(microseconds: now.microseconds - span)
        // Each tenant's setup (about 80 events) starts in the first quarter of the span, its events at most
        // `setupStep` apart: every setup ends by half-way, so no time passes now, whatever the tenant count.
        let setupStep = max(1, min(600, span / 1_000_000 / 4 / 100))
        var writer = JSONWriter(reservingCapacity: 1 << 20)
        var serial = 0
        var stopped = false
        func emit(_ tenant: TenantID, _ time: Timestamp, _ payload: EventPayload) {
            serial += 1
            let event = Event(id: "gen-\(seed)-\(run)-\(serial)", tenantId: tenant, time: time, payload: payload)
            writer.write(EventJSONEncoder.jsonValue(event))
            writer.writeRaw("\n")
            if writer.bytes.count >= 1 << 20 {
                io.writeOut(writer.bytes)
                writer = JSONWriter(reservingCapacity: 1 << 20)
                // A closed pipe (`| head`) ends the run; the failure is reported on the way out.
                stopped = io.outputFailure != nil
            }
        }
        let names = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Soylent"]
        var keysByTenant: [[String]] = []
        var tenantIds: [TenantID] = []
        // When each tenant's setup ended: it gets calls only from then on, so no call precedes its key.
        var readyAt: [Int64] = []
        // `where !stopped` would only skip the rest, one iteration at a time: a failed output ends the loops.
        for index in 0..<tenants {
            if stopped { break }
            let tenant = TenantID.version4(randomHigh: random.next(), randomLow: random.next())
            tenantIds.append(tenant)
            var time = Timestamp(
                microseconds: start.microseconds + callOffset(index, of: tenants, span: span / 4) - span / 4
                    / Int64(tenants))
            func step() -> Timestamp {
                time = Timestamp(
                    microseconds: min(
                        now.microseconds,
                        time.microseconds + Int64(random.next() % UInt64(setupStep)) * 1_000_000))
                return time
            }
            let quota = [5_000, 10_000, 50_000][Int(random.next() % 3)]
            let settings = JSONObject([
                .init(key: "storage_quota_mb", value: .int(Int64(quota))),
                .init(key: "mfa_required", value: .bool(random.next() % 2 == 0)),
            ])
            let name = names[index % names.count] + (index >= names.count ? " \(index / names.count + 1)" : "")
            emit(
                tenant, step(),
                .tenantCreated(
                    TenantCreation(
                        name: name, partnerId: index % 2 == 0 ? "partner-north" : nil,
                        settings: settings)))
            let users = 5 + Int(random.next() % 40)
            for user in 0..<users {
                emit(tenant, step(), .userCreated(userId: "user-\(user + 1)", role: user < 2 ? .admin : .member))
            }
            for user in 0..<(users / 10) { emit(tenant, step(), .userDeactivated(userId: "user-\(users - user)")) }
            for credential in 0..<(2 + Int(random.next() % 6)) {
                let created = step()
                // The first credential expires half-way from its creation to now: expired when read, never
                // created already expired (with a span of a day, a fixed day ago would come before it).
                let expires =
                    credential == 0
                    ? Timestamp(microseconds: created.microseconds + (now.microseconds - created.microseconds) / 2)
                    : nil
                emit(tenant, created, .credentialCreated(credentialId: "cred-\(credential + 1)", expiresAt: expires))
            }
            let keyCount = 3 + Int(random.next() % 6)
            let keyNames = ["Production", "Staging", "CI", "Mobile", "Partner sync", "Analytics", "Batch", "Support"]
            let keys = (0..<keyCount).map { "key-\($0 + 1)" }
            for (number, key) in keys.enumerated() {
                emit(tenant, step(), .keyCreated(keyId: key, name: keyNames[number % keyNames.count], expiresAt: nil))
            }
            emit(tenant, step(), .keyRevoked(keyId: keys[keys.count - 1]))
            keysByTenant.append(Array(keys.dropLast()))
            for client in 0..<(1 + Int(random.next() % 3)) {
                emit(tenant, step(), .oauthClientCreated(clientId: "oauth-\(client + 1)"))
            }
            emit(tenant, step(), .storageMeasured(usedBytes: Int64(100 + random.next() % 4000) << 20))
            readyAt.append(time.microseconds)
        }
        // Calls in time order, spread evenly from the first setup's end up to now, each to a tenant whose
        // setup is over by then (`ready` of them, in the order they got ready).
        let callsStart = readyAt.min() ?? now.microseconds
        let readiness = readyAt.indices.sorted { (readyAt[$0], $0) < (readyAt[$1], $1) }
        var ready = 0
        for index in 0..<events {
            if stopped { break }
            let time = Timestamp(
                microseconds: callsStart + callOffset(index, of: events, span: now.microseconds - callsStart))
            while ready < readiness.count, readyAt[readiness[ready]] <= time.microseconds { ready += 1 }
            let tenantIndex = readiness[Int(random.next() % UInt64(max(1, ready)))]
            let keys = keysByTenant[tenantIndex]
            let roll = random.next() % 100
            let status: UInt16 =
                roll < 85 ? 200 : roll < 90 ? 201 : roll < 95 ? 429 : [400, 401, 404, 500, 503][Int(roll % 5)]
            let key = keys[Int(random.next() % UInt64(keys.count))]
            emit(
                tenantIds[tenantIndex], time,
                .apiCall(
                    APICall(
                        keyId: key, status: status, bytes: Int64(200 + random.next() % 50_000),
                        durationMs: Double(2 + random.next() % 300),
                        oauthClientId: random.next() % 5 == 0 ? "oauth-1" : nil)))
        }
        io.writeOut(writer.bytes)
        return .ok
    }
}
