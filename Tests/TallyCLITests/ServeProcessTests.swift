import Foundation
import Glibc
import TallyAuth
import TallyCore
import TallyStorage
import TallyTestSupport
import Testing

/// The real `tally serve` process: every acknowledged event survives SIGKILL and a restart, and SIGTERM
/// stops it cleanly with exit code 0.
@Suite(.serialized) struct ServeProcessTests {
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"

    func token(_ directory: String) throws -> String {
        let secret = try StoreTestSupport.bytes(directory + "/jwt-secret")
        let now = Timestamp.now().seconds
        return JWTSigner(secret: secret).sign(JWTClaims(roles: ["super_admin"], expiresAt: now + 600))
    }

    func post(_ port: Int, _ token: String, ids: Range<Int>) throws -> LoopbackClient.Response {
        let body =
            "["
            + ids.map {
                #"{"id":"e\#($0)","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"k","status":200}}"#
            }
            .joined(separator: ",") + "]"
        return try LoopbackClient(port: port).request(
            "POST", "/api/v1/events",
            headers: [
                ("Authorization", "Bearer \(token)"), ("x-tenantid", Self.tenant), ("Content-Type", "application/json"),
            ], body: Array(body.utf8))
    }

    @Test func acknowledgedEventsSurviveSIGKILLAndRetriesAreDeduplicated() throws {
        let directory = TemporaryDirectory()
        let first = try ServeProcess(directory.path)
        let token = try token(directory.path)
        for batch in 0..<10 {
            #expect(try post(first.port, token, ids: (batch * 50)..<(batch * 50 + 50)).status == 200)
        }
        first.stop(SIGKILL)
        // A write the kill cut short: 37 bytes past the last frame, which the next start cuts off and shows.
        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).last)
        try StoreTestSupport.write(try StoreTestSupport.bytes(segment) + Array(repeating: 0xAB, count: 37), to: segment)

        let server = try ServeProcess(directory.path)
        let metrics = try LoopbackClient(port: server.port).request("GET", "/metrics").text
        #expect(metrics.contains("tally_log_torn_tail_bytes 37\n"), "\(metrics)")
        // Every acknowledged event is counted once; re-sending them all is deduplicated.
        let retry = try post(server.port, token, ids: 0..<500)
        #expect(retry.text.contains(#""duplicates":500"#))
        let stats = try LoopbackClient(port: server.port).request(
            "GET", "/api/v1/admin/tenants/\(Self.tenant)/stats",
            headers: [
                ("Authorization", "Bearer \(token)"), ("x-tenantid", Self.tenant),
            ])
        // Stamped with the wall clock, the calls may straddle a month's turn: count both months.
        guard case .object(let object) = try JSONParser().parse(stats.body), let data = object["data"] else {
            Issue.record("no stats: \(stats.text)")
            return
        }
        #expect(EngineCommandTests.apiCalls(in: data) == 500, "\(stats.text)")

        // The start said what its open cost: every event replayed, none had a checkpoint.
        let startLog = String(decoding: try StoreTestSupport.bytes(server.log), as: UTF8.self)
        #expect(startLog.contains("tally: opening the store \(directory.path)\n"), "\(startLog)")
        #expect(
            startLog.contains("events, 0 from a checkpoint and 500 replayed from the log\n")
                && startLog.contains("tally: store open in "), "\(startLog)")
        #expect(server.stop(SIGTERM) == 0, "SIGTERM stops cleanly")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.appending("checkpoints"))
                .contains("00000000000000000500.ckpt"), "a clean stop writes a checkpoint")
        // The next start takes them all from that checkpoint.
        let third = try ServeProcess(directory.path)
        let thirdLog = String(decoding: try StoreTestSupport.bytes(third.log), as: UTF8.self)
        #expect(thirdLog.contains(": 500 events, 500 from a checkpoint and 0 replayed from the log\n"), "\(thirdLog)")
        #expect(third.stop(SIGTERM) == 0)
    }

    /// Connections cannot take the descriptors the store needs: under a limit of 200 open files and with two
    /// event loops the server serves 130 connections (64 kept for the store, 3 per loop), says so at start, and closes the rest at once,
    /// counting them in its metrics and warning once. A fresh store
    /// then still opens its first segment, so an ingest on a held connection is stored, and the server
    /// keeps answering once the crowd leaves. (Taking every descriptor would leave the store read-only.)
    @Test func connectionsBeyondTheOpenFileLimitAreClosedAndTheStoreKeepsItsDescriptors() throws {
        let directory = TemporaryDirectory()
        let server = try ServeProcess(directory.path, arguments: ["--event-loops", "2"], descriptorLimit: 200)
        let token = try token(directory.path)
        let first = try LoopbackClient(port: server.port)
        #expect(try first.request("GET", "/healthz").status == 200)
        var crowd: [LoopbackClient] = []
        for _ in 0..<300 { crowd.append(try LoopbackClient(port: server.port)) }
        var served = 0
        var closed = 0
        for client in crowd {
            if let response = try? client.request("GET", "/healthz"), response.status == 200 {
                served += 1
            } else {
                closed += 1
            }
        }
        #expect(served == 129 && closed == 171, "served \(served), closed \(closed)")
        let body =
            #"{"id":"fd-1","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"k","status":200}}"#
        let ingest = try first.request(
            "POST", "/api/v1/events",
            headers: [
                ("Authorization", "Bearer \(token)"), ("x-tenantid", Self.tenant), ("Content-Type", "application/json"),
            ], body: Array(body.utf8))
        #expect(ingest.status == 200, "\(ingest.text)")
        let metrics = try first.request("GET", "/metrics").text
        #expect(metrics.contains("tally_http_connections_shed_total{reason=\"max_connections\"} 171\n"), "\(metrics)")
        #expect(metrics.contains("tally_http_connections_shed_total{reason=\"out_of_descriptors\"} 0\n"))
        for client in crowd { client.close() }
        var healthy = false
        for _ in 0..<100 where !healthy {
            healthy = (try? LoopbackClient(port: server.port).request("GET", "/healthz").status) == 200
            if !healthy { usleep(50_000) }
        }
        #expect(healthy, "a new connection is served once the crowd left")
        let log = String(decoding: try StoreTestSupport.bytes(server.log), as: UTF8.self)
        #expect(
            log.contains(
                "tally: warning: the open-file limit (ulimit -n 200) leaves room for 130 connections, not --max-connections 10000, after 70 kept for the store and the event loops"
            ), "\(log)")
        let refusals = log.split(separator: "\n").filter {
            $0.hasPrefix("tally: warning: refused a connection: 130 are open")
        }
        #expect(refusals.count == 1, "one warning for the whole crowd: \(log)")
        #expect(server.stop(SIGTERM) == 0)
    }

    /// A POST whose body has no framing (an HTTP/1.0 client that sends no `Content-Length`, or a forgotten
    /// body) gets 411 naming the missing header and the connection closes, rather than a 400 "empty input"
    /// followed by the body's bytes read as the next request; nothing is stored, and a GET needs no length,
    /// nor a PUT, which no route takes (405).
    @Test func aPostWithoutContentLengthGets411() throws {
        let directory = TemporaryDirectory()
        let server = try ServeProcess(directory.path)
        let token = try token(directory.path)
        let event = #"{"id":"nf-1","type":"api.call","tenantId":"\#(Self.tenant)","data":{"keyId":"k","status":200}}"#
        let client = try LoopbackClient(port: server.port)
        try client.send(
            "POST /api/v1/events HTTP/1.0\r\nAuthorization: Bearer \(token)\r\nx-tenantid: \(Self.tenant)\r\n"
                + "Content-Type: application/json\r\n\r\n" + event)
        let answer = try client.readResponse()
        #expect(answer.status == 411, "\(answer.text)")
        #expect(answer.text.contains("POST without Content-Length or Transfer-Encoding"), "\(answer.text)")
        #expect(client.readUntilClosed().isEmpty, "the connection closes: the body's end cannot be known")

        let stats = try LoopbackClient(port: server.port).request(
            "GET", "/api/v1/admin/tenants/\(Self.tenant)/stats",
            headers: [("Authorization", "Bearer \(token)"), ("x-tenantid", Self.tenant)])
        #expect(stats.status == 404, "nothing was stored: \(stats.text)")
        #expect(try post(server.port, token, ids: 0..<1).status == 200, "a framed POST is served")
        // A method no route takes a body with is told so, whatever its framing.
        let put = try LoopbackClient(port: server.port).request(
            "PUT", "/api/v1/events", headers: [("Authorization", "Bearer \(token)"), ("x-tenantid", Self.tenant)])
        #expect(put.status == 405 && put.header("Allow") == "POST", "\(put.text)")
        #expect(server.stop(SIGTERM) == 0)
    }

    /// SIGHUP (the terminal went away) stops the server as cleanly as SIGTERM: drained, checkpointed,
    /// exit 0. During a drain held up by a request in flight, a second signal ends the process at once
    /// (exit 128 + its number), saying so, instead of waiting out the drain; what was acknowledged is in the
    /// log, and the next start finds it.
    @Test func sighupStopsCleanlyAndASecondSignalStopsAtOnce() throws {
        let directory = TemporaryDirectory()
        let first = try ServeProcess(directory.path)
        let token = try token(directory.path)
        #expect(try post(first.port, token, ids: 0..<5).status == 200)
        #expect(first.stop(SIGHUP) == 0)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: directory.appending("checkpoints"))
                .contains("00000000000000000005.ckpt"))

        let second = try ServeProcess(directory.path)
        #expect(try post(second.port, token, ids: 5..<8).status == 200)
        let slow = try LoopbackClient(port: second.port)
        try slow.send(
            "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\nx-tenantid: \(Self.tenant)\r\n"
                + "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n[")
        // Stopped only once the server holds the body's first byte: a head not yet read would leave the
        // connection idle, closed at once by the drain, and the stop clean before the second signal.
        #expect(
            Polling.until(seconds: 10) {
                let metrics = try? LoopbackClient(port: second.port).request("GET", "/metrics").text
                return metrics?.contains("tally_http_buffered_body_bytes 1\n") == true
            })
        kill(second.process.processIdentifier, SIGTERM)
        let log = second.log
        #expect(
            Polling.until(seconds: 10) {
                String(decoding: (try? StoreTestSupport.bytes(log)) ?? [], as: UTF8.self).contains("tally: stopping:")
            })
        let started = ContinuousClock.now
        #expect(second.stop(SIGTERM) == 128 + SIGTERM)
        #expect(ContinuousClock.now - started < .seconds(5), "not the 10 s drain")
        let text = String(decoding: try StoreTestSupport.bytes(log), as: UTF8.self)
        #expect(text.contains("tally: a second signal: stopping at once"), "\(text)")

        let third = try ServeProcess(directory.path)
        let retry = try post(third.port, token, ids: 0..<8)
        #expect(retry.text.contains(#""duplicates":8"#), "\(retry.text)")
        #expect(third.stop(SIGTERM) == 0)
    }

    /// A secret file other users may read is used, with a warning naming its mode and the fix; a server
    /// stopped before any event says it wrote no checkpoint (and writes none).
    @Test func aSecretOthersCanReadIsWarnedAboutAndAnEmptyStopSaysSo() throws {
        let directory = TemporaryDirectory()
        let secret = directory.appending("secret")
        try StoreTestSupport.write(Array("0123456789abcdef0123456789abcdef".utf8), to: secret)
        chmod(secret, 0o644)
        let log = directory.appending("serve.log")
        let server = try ServeProcess(
            directory.appending("store"), arguments: ["--jwt-secret-file", secret], log: log)
        #expect(server.stop(SIGTERM) == 0)
        let text = String(decoding: try StoreTestSupport.bytes(log), as: UTF8.self)
        #expect(text.contains("tally: warning: \(secret) is open to other users (mode 0644)"), "\(text)")
        #expect(text.contains("tally: stopped; no events, so no checkpoint"), "\(text)")
        #expect(
            !FileManager.default.fileExists(atPath: directory.appending("store/checkpoints/00000000000000000000.ckpt")))
    }

    /// A second server on a port already in use exits 1 naming the address, reports no scrub, and prints no command for
    /// minting tokens, since nothing listens that would accept them; nor does it leave a secret it made,
    /// which a token minted before the next start would be signed with.
    @Test func aPortInUseExitsOneWithoutOfferingAToken() throws {
        let first = TemporaryDirectory()
        let running = try ServeProcess(first.path)
        let port = running.port
        let second = TemporaryDirectory()
        let (status, message, _) = try CLITests.launch(["serve", "--data", second.path, "--port", String(port)])
        #expect(status == 1, "\(message)")
        #expect(message.contains("bind to 127.0.0.1:\(port) failed: Address already in use"), "\(message)")
        #expect(message.contains("choose another --port"), "\(message)")
        #expect(!message.contains("mint an admin token"), "\(message)")
        #expect(!message.contains("created"), "\(message)")
        // Nor a word on the log's health: the scrub starts once the server listens.
        #expect(!message.contains("log scrub"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: second.appending("jwt-secret")))

        // A store the failed start created is removed again: the mistyped start leaves no directory.
        let fresh = second.appending("new-store")
        let (freshStatus, freshMessage, _) = try CLITests.launch(["serve", "--data", fresh, "--port", String(port)])
        #expect(freshStatus == 1, "\(freshMessage)")
        #expect(!FileManager.default.fileExists(atPath: fresh), "\(freshMessage)")
        // So are the parent directories it created on the way.
        let nested = second.appending("parent/child/deeper")
        let (nestedStatus, nestedMessage, _) = try CLITests.launch(["serve", "--data", nested, "--port", String(port)])
        #expect(nestedStatus == 1, "\(nestedMessage)")
        #expect(!FileManager.default.fileExists(atPath: second.appending("parent")), "\(nestedMessage)")
        #expect(FileManager.default.fileExists(atPath: second.path))
    }

    /// The port is taken before the store is opened: a start on a port in use changes nothing in the store
    /// (the torn tail an open would cut off stays) and says nothing of it, however long its open would take.
    @Test func aPortInUseIsFoundBeforeTheStoreIsOpened() throws {
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        let first = try ServeProcess(store)
        #expect(try post(first.port, try token(store), ids: 0..<20).status == 200)
        first.stop(SIGKILL)
        let segment = try #require(try StoreTestSupport.segmentPaths(store).last)
        let torn = try StoreTestSupport.bytes(segment) + Array(repeating: 0xAB, count: 37)
        try StoreTestSupport.write(torn, to: segment)

        let running = try ServeProcess(directory.appending("other"))
        let (status, message, _) = try CLITests.launch(["serve", "--data", store, "--port", String(running.port)])
        #expect(status == 1, "\(message)")
        #expect(message.contains("bind to 127.0.0.1:\(running.port) failed: Address already in use"), "\(message)")
        #expect(!message.contains("torn"), "\(message)")
        #expect(try StoreTestSupport.bytes(segment) == torn, "the store is as the kill left it")
    }

    /// Rotating the secret with an overlap: started with the new secret and `--jwt-previous-secret-file`, the
    /// server accepts tokens of either, counts those of the old one in its metrics and says so at start; a
    /// token of neither gets 401. A previous secret that is the current one stops the start (the rotation
    /// did not happen), and leaves no store.
    @Test func aPreviousSecretKeepsItsTokensWorkingDuringARotation() throws {
        let directory = TemporaryDirectory()
        let old = directory.appending("old-secret")
        let new = directory.appending("new-secret")
        try StoreTestSupport.write(Array("the-old-secret-0123456789abcdefgh\n".utf8), to: old)
        try StoreTestSupport.write(Array("the-new-secret-9876543210hgfedcba\n".utf8), to: new)
        chmod(old, 0o600)
        chmod(new, 0o600)
        let log = directory.appending("serve.log")
        let server = try ServeProcess(
            directory.appending("store"), arguments: ["--jwt-secret-file", new, "--jwt-previous-secret-file", old],
            log: log)
        func status(_ secret: String) throws -> Int {
            let now = Timestamp.now().seconds
            let token = JWTSigner(secret: Array(secret.utf8)).sign(
                JWTClaims(roles: ["super_admin"], expiresAt: now + 600))
            return try LoopbackClient(port: server.port).request(
                "GET", "/api/v1/admin/tenants/",
                headers: [("Authorization", "Bearer \(token)"), ("x-tenantid", Self.tenant)]
            ).status
        }
        #expect(try status("the-old-secret-0123456789abcdefgh") == 200)
        #expect(try status("the-old-secret-0123456789abcdefgh") == 200)
        #expect(try status("the-new-secret-9876543210hgfedcba") == 200)
        #expect(try status("a-third-secret-0123456789") == 401)
        // A request whose body follows its head in a later read is judged on its head first, then whole:
        // counted once, whether the head check answers it or the whole request does.
        let oldToken = JWTSigner(secret: Array("the-old-secret-0123456789abcdefgh".utf8)).sign(
            JWTClaims(roles: ["super_admin"], expiresAt: Timestamp.now().seconds + 600))
        for (tenantHeader, expected) in [("x-tenantid: \(Self.tenant)\r\n", 201), ("", 400)] {
            let body = #"{"id":"\#(Self.tenant)","name":"Rotated"}"#
            let client = try LoopbackClient(port: server.port)
            try client.send(
                "POST /api/v1/admin/tenants/ HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(oldToken)\r\n"
                    + tenantHeader + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            usleep(200_000)
            try? client.send(body)
            #expect(try client.readResponse().status == expected)
        }
        let metrics = try LoopbackClient(port: server.port).request("GET", "/metrics").text
        #expect(metrics.contains("tally_auth_previous_secret_requests_total 4\n"), "\(metrics)")
        #expect(server.stop(SIGTERM) == 0)
        let text = String(decoding: try StoreTestSupport.bytes(log), as: UTF8.self)
        #expect(
            text.contains("tally: tokens signed with the previous secret (\(old)) are accepted too"), "\(text)")
        #expect(
            text.contains("token --role super_admin --jwt-secret-file /") && text.contains("/new-secret\n"), "\(text)")

        let store = directory.appending("other-store")
        let (same, message, _) = try CLITests.launch([
            "serve", "--data", store, "--port", "0", "--jwt-secret-file", new, "--jwt-previous-secret-file", new,
        ])
        #expect(same == 1, "\(message)")
        #expect(message.contains("the previous secret (\(new)) is the current one (\(new))"), "\(message)")
        #expect(!FileManager.default.fileExists(atPath: store), "\(message)")
        // A previous secret that cannot serve as one stops the start before a store is made.
        let short = directory.appending("short")
        try StoreTestSupport.write(Array("too-short".utf8), to: short)
        let (shortStatus, shortMessage, _) = try CLITests.launch([
            "serve", "--data", store, "--port", "0", "--jwt-previous-secret-file", short,
        ])
        #expect(shortStatus == 1, "\(shortMessage)")
        #expect(shortMessage.contains("\(short): the previous secret must be at least 32 bytes"), "\(shortMessage)")
        #expect(!FileManager.default.fileExists(atPath: store), "\(shortMessage)")
    }

    /// A `--jwt-secret-file` that cannot be read stops the start before any store is created.
    @Test func anUnreadableSecretFileCreatesNoStore() throws {
        let directory = TemporaryDirectory()
        let store = directory.appending("store")
        let (status, message, _) = try CLITests.launch([
            "serve", "--data", store, "--port", "0", "--jwt-secret-file", directory.appending("missing"),
        ])
        #expect(status == 1, "\(message)")
        #expect(message.contains("cannot read \(directory.appending("missing")): No such file or directory"))
        #expect(!FileManager.default.fileExists(atPath: store), "\(message)")
    }

    /// `--checkpoint-interval` (after new events) and `--checkpoint-every` (after enough of them) each have
    /// the running server write a checkpoint, and log it.
    @Test(arguments: [
        (["--checkpoint-interval", "1s", "--checkpoint-every", "1000"], "due by time"),
        (["--checkpoint-interval", "1h", "--checkpoint-every", "100"], "due by count"),
    ])
    func theServerCheckpointsAsConfiguredAndLogsIt(arguments: [String], reason: String) throws {
        let directory = TemporaryDirectory()
        let log = directory.appending("serve.log")
        let server = try ServeProcess(directory.path, arguments: arguments, log: log)
        let token = try token(directory.path)
        #expect(try post(server.port, token, ids: 0..<150).status == 200)
        var written = false
        for _ in 0..<400 where !written {
            usleep(50_000)
            written =
                (try? FileManager.default.contentsOfDirectory(atPath: directory.appending("checkpoints")))?
                .contains("00000000000000000150.ckpt") == true
        }
        #expect(written, "a checkpoint within seconds, while the server runs")
        // The line follows the file's rename.
        let line = "(\(reason): 150 events after offset 0; 150 ids in the dedup window)"
        var text = ""
        for _ in 0..<400 where !text.contains(line) {
            usleep(50_000)
            text = String(decoding: try StoreTestSupport.bytes(log), as: UTF8.self)
        }
        #expect(text.contains("tally: checkpoint at offset 150 written in "), "\(text)")
        #expect(text.contains(line), "\(text)")
        #expect(text.contains(#""method":"POST","path":"/api/v1/events","status":200"#), "\(text)")
    }

    /// A store deleted under a running server: the next post is refused, not acknowledged into a file no
    /// later open finds, `/healthz` turns read-only, and the stop says what was lost and how to copy it out
    /// rather than that every event is in the log.
    @Test func aStoreDeletedUnderTheServerAcknowledgesNothingMore() throws {
        let scratch = TemporaryDirectory()
        let store = scratch.appending("store")
        let log = scratch.appending("serve.log")
        let server = try ServeProcess(store, log: log)
        let token = try token(store)
        #expect(try post(server.port, token, ids: 0..<100).status == 200)
        try FileManager.default.removeItem(atPath: store)
        let refused = try post(server.port, token, ids: 100..<200)
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.text.contains("was deleted while the store had it open"), "\(refused.text)")
        let health = try LoopbackClient(port: server.port).request("GET", "/healthz")
        #expect(health.status == 503 && health.text.contains(#""status":"read-only""#), "\(health.text)")
        #expect(health.text.contains("was deleted while the store had it open"), "the reason: \(health.text)")
        #expect(refused.text.contains("takes no writes until it is restarted"), "\(refused.text)")
        #expect(server.stop(SIGTERM) != 0, "not a clean stop")
        let text = String(decoding: try StoreTestSupport.bytes(log), as: UTF8.self)
        #expect(text.contains("copy /proc/"), "\(text)")
        #expect(!text.contains("every event is in the log"), "\(text)")
    }

    /// The server's `tally_scrub_passes_total`, or -1 when it cannot be read.
    func scrubPasses(_ client: LoopbackClient) -> Int {
        let text = (try? client.request("GET", "/metrics").text) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("tally_scrub_passes_total ") }),
            let value = line.split(separator: " ").last.flatMap({ Int($0) })
        else { return -1 }
        return value
    }

    /// The background scrub of a running server: its first pass reads the log at start and finds nothing;
    /// once a byte of an acknowledged frame changes on disk, a later pass finds it, `/healthz` answers 200
    /// `degraded` naming the segment and byte, `tally_log_damage` is 1, and the log says what to do.
    @Test func theBackgroundScrubFindsABadByteWhileTheServerRuns() throws {
        let directory = TemporaryDirectory()
        let log = directory.appending("serve.log")
        let server = try ServeProcess(directory.path, arguments: ["--scrub-interval", "1s"], log: log)
        let token = try token(directory.path)
        #expect(try post(server.port, token, ids: 0..<200).status == 200)
        let client = try LoopbackClient(port: server.port)
        // The first pass began at start, maybe before the post: the second read the posted events.
        #expect(Polling.until { scrubPasses(client) >= 2 }, "passes repeat every second")
        let healthy = try client.request("GET", "/healthz")
        #expect(healthy.status == 200, "\(healthy.text)")
        #expect(healthy.text.contains(#""logDamage":[]"#), "\(healthy.text)")
        #expect(String(decoding: try StoreTestSupport.bytes(log), as: UTF8.self).contains(": no damage"))

        let segment = try #require(try StoreTestSupport.segmentPaths(directory.path).first)
        let name = try #require(segment.split(separator: "/").last.map(String.init))
        var bytes = try StoreTestSupport.bytes(segment)
        bytes[SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + 30] ^= 0x01
        let descriptor = open(segment, O_WRONLY)
        try #require(descriptor >= 0)
        let position = SegmentFormat.headerSize + SegmentFormat.frameHeaderSize + 30
        #expect(pwrite(descriptor, &bytes[position], 1, off_t(position)) == 1)
        close(descriptor)

        var health = try client.request("GET", "/healthz")
        #expect(
            Polling.until {
                health = (try? client.request("GET", "/healthz")) ?? health
                return health.text.contains(#""status":"degraded""#)
            })
        #expect(health.status == 200, "the stats are whole: a liveness probe must not restart it: \(health.text)")
        #expect(health.text.contains("segments/\(name): checksum mismatch in frame for offsets 0-"), "\(health.text)")
        #expect(health.text.contains("at byte \(SegmentFormat.headerSize)"), "\(health.text)")
        #expect(health.text.contains("tally salvage --out DIR"), "\(health.text)")
        #expect(try client.request("GET", "/metrics").text.contains("tally_log_damage 1\n"))
        let text = String(decoding: try StoreTestSupport.bytes(log), as: UTF8.self)
        #expect(text.contains("tally: log scrub: read 1 segment ("), "\(text)")
        #expect(text.contains("the log is damaged: segments/\(name)"), "\(text)")
        #expect(server.stop(SIGTERM) == 0, "a scrub's finding does not stop the server, nor its clean stop")
    }
}
