import Synchronization
import TallyEngine
import TallyHTTP
import TallyStorage

/// Counters and histograms for `GET /metrics`, in the Prometheus text format.
final class APIMetrics: Sendable {
    private let accepted = Atomic<Int>(0)
    private let duplicates = Atomic<Int>(0)
    private let failed = Atomic<Int>(0)
    private let ingestedBytes = Atomic<Int>(0)
    private let previousSecretRequests = Atomic<Int>(0)
    private let state = Mutex<State>(State())

    struct State {
        var rejectedByReason: [String: Int] = [:]
        /// Latency and responses by status, per route label.
        var requests: [String: Histogram] = [:]
    }

    /// Cumulative buckets in seconds: up to the slowest answers the server gives on its own at its default
    /// timeouts (a 408 after the 10 s header timeout; after the 60 s body timeout, counted from the first
    /// byte, so past 60 s), so they land in a bucket of their own, not only in `+Inf`.
    struct Histogram {
        static let bounds: [Double] = [
            0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
            120,
        ]
        var counts = [Int](repeating: 0, count: bounds.count)
        var total = 0
        var sum = 0.0
        /// Responses by status code.
        var statuses: [Int: Int] = [:]

        mutating func record(_ seconds: Double, status: Int) {
            for (index, bound) in Histogram.bounds.enumerated() where seconds <= bound { counts[index] += 1 }
            total += 1
            sum += seconds
            statuses[status, default: 0] += 1
        }
    }

    /// Counts the body of a request the ingest route took in, whatever its answer (a malformed or
    /// oversized body too).
    func recordIngestBody(bytes: Int) {
        ingestedBytes.wrappingAdd(bytes, ordering: .relaxed)
    }

    /// The bytes of every body the ingest route has taken in so far.
    var ingestBodyBytes: Int { ingestedBytes.load(ordering: .relaxed) }

    func recordIngest(accepted: Int, duplicates: Int, failed: Int, rejectedReasons: [String]) {
        self.accepted.wrappingAdd(accepted, ordering: .relaxed)
        self.duplicates.wrappingAdd(duplicates, ordering: .relaxed)
        self.failed.wrappingAdd(failed, ordering: .relaxed)
        guard !rejectedReasons.isEmpty else { return }
        state.withLock { state in
            for reason in rejectedReasons { state.rejectedByReason[Self.reasonLabel(reason), default: 0] += 1 }
        }
    }

    /// Every field a rejection can name, as labels: anything else a client sends (a made-up field, a line
    /// number) maps to a fixed label, so requests cannot add series without bound.
    static let knownFields: Set<String> = Set(
        [
            "event", "id", "type", "tenantId", "time", "data", "specversion", "source", "datacontenttype",
            "data_base64", "tenantid", "subject", "dataschema",
        ]
            + [
                "bytes", "clientId", "credentialId", "deltaBytes", "durationMs", "eventId", "expiresAt", "keyId",
                "name",
                "oauthClientId", "partnerId", "reason", "role", "settings", "status", "usedBytes", "userId",
            ].map { "data." + $0 })

    /// The `reason` label of a rejection: the field at fault when Tally knows it; `invalid_json` for an
    /// NDJSON line that does not parse; `data.settings` for any setting; `unknown_field` or `other` else.
    static func reasonLabel(_ reason: String) -> String {
        let field = String(reason.prefix { $0 != ":" })
        // A member refused as unknown is one whatever its name (a CloudEvent's `tenantId` is no attribute).
        if reason.dropFirst(field.count).hasPrefix(": unknown field") { return "unknown_field" }
        if knownFields.contains(field) { return field }
        if field.hasPrefix("line ") { return "invalid_json" }
        if field.hasPrefix("data.settings.") { return "data.settings" }
        return reason.contains("unknown field") ? "unknown_field" : "other"
    }

    func recordRequest(route: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.requests[route, default: Histogram()].record(seconds, status: status)
        }
    }

    /// Counts a request a token of a previous secret authenticated (once per request, however its head and
    /// body arrived).
    func recordPreviousSecretRequest() {
        previousSecretRequests.add(1, ordering: .relaxed)
    }

    /// The exposition text.
    /// - Parameters:
    ///   - server: The HTTP server's gauges.
    ///   - syncs: The log's fsync durations.
    ///   - engine: The engine's gauges.
    ///   - bodiesWaiting: Large or compressed bodies waiting to be decoded off the event loops.
    ///   - process: The process's own figures.
    func render(
        server: HTTPServerGauges, syncs: SyncStatistics.Snapshot, engine: Engine.Gauges, bodiesWaiting: Int,
        process: ProcessStatistics = .current()
    ) -> String {
        var text = ""
        text +=
            "# HELP tally_build_info The formats this build writes: its segment format and projection version (always 1).\n# TYPE tally_build_info gauge\n"
        text +=
            "tally_build_info{segment_format=\"\(SegmentFormat.version)\",projection_version=\"\(Engine.projectionVersion)\"} 1\n"
        text += "# HELP tally_events_total Events by outcome.\n# TYPE tally_events_total counter\n"
        text += "tally_events_total{outcome=\"accepted\"} \(accepted.load(ordering: .relaxed))\n"
        text += "tally_events_total{outcome=\"duplicate\"} \(duplicates.load(ordering: .relaxed))\n"
        text += "tally_events_total{outcome=\"failed\"} \(failed.load(ordering: .relaxed))\n"
        let snapshot = state.withLock { $0 }
        text +=
            "# HELP tally_events_rejected_total Rejected events by the field at fault: the field's path (data.status, time, type, a CloudEvent's attribute as sent; data.settings for any setting), unknown_field, invalid_json (an NDJSON line that does not parse) or other.\n# TYPE tally_events_rejected_total counter\n"
        for (reason, count) in snapshot.rejectedByReason.sorted(by: { $0.key < $1.key }) {
            text += "tally_events_rejected_total{reason=\"\(Self.escape(reason))\"} \(count)\n"
        }
        text +=
            "# HELP tally_ingest_bytes_total Request body bytes the ingest route read whole from a caller allowed to ingest, the ingest or super_admin role (as sent: compressed bodies count compressed), whatever its answer then; not bodies refused on their head (401, 403, a bad x-tenantid) nor ones the HTTP layer stopped midway (413, 408).\n# TYPE tally_ingest_bytes_total counter\n"
        text += "tally_ingest_bytes_total \(ingestedBytes.load(ordering: .relaxed))\n"
        text +=
            "# HELP tally_http_request_duration_seconds Request latency by route.\n# TYPE tally_http_request_duration_seconds histogram\n"
        for (route, histogram) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            for (index, bound) in Histogram.bounds.enumerated() {
                text +=
                    "tally_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(bound)\"} \(histogram.counts[index])\n"
            }
            text += "tally_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(histogram.total)\n"
            text += "tally_http_request_duration_seconds_sum{route=\"\(route)\"} \(histogram.sum)\n"
            text += "tally_http_request_duration_seconds_count{route=\"\(route)\"} \(histogram.total)\n"
        }
        text +=
            "# HELP tally_http_responses_total Responses by route and status.\n# TYPE tally_http_responses_total counter\n"
        for (route, histogram) in snapshot.requests.sorted(by: { $0.key < $1.key }) {
            for (status, count) in histogram.statuses.sorted(by: { $0.key < $1.key }) {
                text += "tally_http_responses_total{route=\"\(route)\",status=\"\(status)\"} \(count)\n"
            }
        }
        text +=
            "# HELP tally_fsync_duration_seconds Duration of the log's fsyncs (data, seals, new segments).\n# TYPE tally_fsync_duration_seconds histogram\n"
        for (index, bound) in SyncStatistics.bounds.enumerated() {
            text += "tally_fsync_duration_seconds_bucket{le=\"\(bound)\"} \(syncs.cumulativeCounts[index])\n"
        }
        text += "tally_fsync_duration_seconds_bucket{le=\"+Inf\"} \(syncs.count)\n"
        text +=
            "tally_fsync_duration_seconds_sum \(syncs.sumSeconds)\ntally_fsync_duration_seconds_count \(syncs.count)\n"
        text += "# HELP tally_open_connections Open client connections.\n# TYPE tally_open_connections gauge\n"
        text += "tally_open_connections \(server.openConnections)\n"
        text +=
            "# HELP tally_http_connections_shed_total Connections the server closed to stay within its limits: refused at --max-connections (max_connections), refused out of file descriptors (out_of_descriptors), or closed for leaving answers unread past --max-unsent-response-bytes (stalled_client).\n# TYPE tally_http_connections_shed_total counter\n"
        text += "tally_http_connections_shed_total{reason=\"max_connections\"} \(server.refusedAtLimit)\n"
        text += "tally_http_connections_shed_total{reason=\"out_of_descriptors\"} \(server.refusedWithoutDescriptors)\n"
        text += "tally_http_connections_shed_total{reason=\"stalled_client\"} \(server.closedStalled)\n"
        text +=
            "# HELP tally_auth_previous_secret_requests_total Requests authenticated by a token the previous secret (--jwt-previous-secret-file or $TALLY_JWT_PREVIOUS_SECRET) signed: once it stops rising, drop that secret.\n# TYPE tally_auth_previous_secret_requests_total counter\n"
        text += "tally_auth_previous_secret_requests_total \(previousSecretRequests.load(ordering: .relaxed))\n"
        text +=
            "# HELP tally_http_buffered_body_bytes Request body bytes held in memory, against the server's limit.\n# TYPE tally_http_buffered_body_bytes gauge\n"
        text += "tally_http_buffered_body_bytes \(server.bufferedBodyBytes)\n"
        text +=
            "# HELP tally_http_unsent_response_bytes Response bytes written that clients have not read yet, against the server's limit.\n# TYPE tally_http_unsent_response_bytes gauge\n"
        text += "tally_http_unsent_response_bytes \(server.unsentResponseBytes)\n"
        text +=
            "# HELP tally_http_bodies_waiting Large or compressed request bodies waiting for a worker to decode them (the handler's body workers, one per event loop by default, decode one each at a time).\n# TYPE tally_http_bodies_waiting gauge\n"
        text += "tally_http_bodies_waiting \(bodiesWaiting)\n"
        text += "# HELP tally_log_events Events in the log that the projections cover.\n# TYPE tally_log_events gauge\n"
        text += "tally_log_events \(engine.events)\n"
        text += "# HELP tally_tenants Tenants with at least one event.\n# TYPE tally_tenants gauge\n"
        text += "tally_tenants \(engine.tenants)\n"
        text +=
            "# HELP tally_dedup_remembered_ids Ids the dedup index remembers (the dedup window).\n# TYPE tally_dedup_remembered_ids gauge\n"
        text += "tally_dedup_remembered_ids \(engine.rememberedIds)\n"
        text +=
            "# HELP tally_dedup_table_bytes Bytes of the dedup index's table.\n# TYPE tally_dedup_table_bytes gauge\n"
        text += "tally_dedup_table_bytes \(engine.dedupTableBytes)\n"
        text +=
            "# HELP tally_read_only 1 when a write failure made the engine read-only (restart after fixing the disk).\n# TYPE tally_read_only gauge\n"
        text += "tally_read_only \(engine.readOnly ? 1 : 0)\n"
        text +=
            "# HELP tally_projection_gap 1 when the live stats miss a void whose target could not be read (see /healthz).\n# TYPE tally_projection_gap gauge\n"
        text += "tally_projection_gap \(engine.projectionGap ? 1 : 0)\n"
        text +=
            "# HELP tally_log_damage 1 when the last background scrub found damage in the log (see /healthz).\n# TYPE tally_log_damage gauge\n"
        text += "tally_log_damage \(engine.logDamage ? 1 : 0)\n"
        text +=
            "# HELP tally_scrub_passes_total Background scrub passes over the whole log (a damaged segment is read up to its damage; tally_log_damage says whether the last pass found any).\n# TYPE tally_scrub_passes_total counter\n"
        text += "tally_scrub_passes_total \(engine.scrubPasses)\n"
        text +=
            "# HELP tally_scrub_read_bytes_total Bytes of the log the background scrub has read and checked.\n# TYPE tally_scrub_read_bytes_total counter\n"
        text += "tally_scrub_read_bytes_total \(engine.scrubBytes)\n"
        text += Self.gauge(
            "tally_log_torn_tail_bytes",
            "Bytes the server's start cut off the log's end as a torn tail (an interrupted write; 0 when none): under durability always it held nothing acknowledged, unless the disk lost bytes it had confirmed as synced.",
            engine.tornTailBytesAtOpen)
        let checkpoints = engine.checkpoints
        text += Self.gauge(
            "tally_checkpoint_covered_events",
            "Events the newest checkpoint covers: a restart replays the log from there (tally_log_events minus this).",
            checkpoints.coveredEvents)
        if let written = checkpoints.lastWritten {
            text += Self.gauge(
                "tally_checkpoint_last_success_timestamp_seconds",
                "When the newest checkpoint was written (Unix time): by this server, or, until it writes one, the one it started from (its file's time).",
                written.microseconds / 1_000_000)
        }
        if let seconds = checkpoints.lastDurationSeconds {
            text += Self.gauge(
                "tally_checkpoint_last_duration_seconds", "How long the last checkpoint this server wrote took.",
                seconds)
        }
        text +=
            "# HELP tally_checkpoint_failures_total Checkpoints not written: failed (error) or skipped for want of disk space (low_space); the log is unaffected, a restart replays more.\n# TYPE tally_checkpoint_failures_total counter\n"
        text += "tally_checkpoint_failures_total{reason=\"error\"} \(checkpoints.failures)\n"
        text += "tally_checkpoint_failures_total{reason=\"low_space\"} \(checkpoints.skippedForSpace)\n"
        // Named and described as Prometheus's client libraries name their process collectors' figures.
        let processGauges: [(String, String, (any Numeric)?)] = [
            ("process_resident_memory_bytes", "Resident memory size in bytes.", process.residentBytes),
            ("process_open_fds", "Number of open file descriptors.", process.openDescriptors),
            ("process_max_fds", "Maximum number of open file descriptors.", process.maxDescriptors),
            (
                "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                process.startTimeSeconds
            ),
        ]
        for (name, help, value) in processGauges {
            if let value { text += Self.gauge(name, help, value) }
        }
        if let last = engine.lastScrub {
            text +=
                "# HELP tally_scrub_last_pass_timestamp_seconds When the last background scrub pass over the whole log ended (Unix time), damage found or not.\n# TYPE tally_scrub_last_pass_timestamp_seconds gauge\n"
            text += "tally_scrub_last_pass_timestamp_seconds \(last.microseconds / 1_000_000)\n"
        }
        return text
    }

    /// A gauge without labels: its HELP and TYPE lines and its sample.
    static func gauge(_ name: String, _ help: String, _ value: some Numeric) -> String {
        "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name) \(value)\n"
    }

    /// A label value in the exposition format: backslash, double quote and line feed escaped.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
