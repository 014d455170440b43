import Foundation
import Synchronization
import TallyAuth
import TallyCore
import TallyEngine
import TallyHTTP
import TallyStorage
import TallyTestSupport
import Testing

@testable import TallyAPI

/// The server a handler reports gauges of, once it exists (the handler is made first).
final class ServerReference: Sendable {
    let server = Mutex<HTTPServer?>(nil)

    var gauges: HTTPServerGauges { server.withLock { $0?.gauges } ?? HTTPServerGauges() }
}

/// End to end: the real server on a free loopback port, a real store in a temporary directory.
final class APIFixture {
    static let secret = Array("test-secret-0123456789abcdef".utf8)
    static let tenant = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    static let other = "9b2d4c1e-8f3a-4b6d-a1c2-7e5f9d0b3a48"
    let directory = TemporaryDirectory()
    let engine: Engine
    let server: HTTPServer
    let handler: TallyAPIHandler
    /// The server's log lines, as written.
    let log = LogCollector()

    /// - Parameters:
    ///   - maxBodyBytes: The server's body limit.
    ///   - fileSystem: The store's file system (a ``FaultyFileSystem`` to hold or fail a sync).
    ///   - maxBufferedBodyBytes: The server's cap on body bytes held across connections.
    ///   - eventLoops: The server's event-loop threads.
    ///   - bodyWorkers: How many large or compressed bodies are decoded at once.
    init(
        maxBodyBytes: Int = HTTPLimits().maxBodyBytes, fileSystem: any FileSystem = PosixFileSystem(),
        maxBufferedBodyBytes: Int = HTTPServerConfiguration().maxBufferedBodyBytes, eventLoops: Int = 2,
        bodyWorkers: Int = 2
    ) throws {
        var configuration = EngineConfiguration()
        configuration.store = StoreTestSupport.configuration(durability: .always)
        configuration.clock = TestClock.midMonth()
        engine = try Engine(directory: directory.path, configuration: configuration, fileSystem: fileSystem)
        var http = HTTPServerConfiguration()
        http.port = 0
        http.eventLoops = eventLoops
        http.log = { [log] in log.append($0) }
        http.limits.maxBodyBytes = maxBodyBytes
        // As `tally serve` sets it: a POST or PATCH without framing is a 411.
        http.limits.lengthRequiredMethods = [.post, .patch]
        http.maxBufferedBodyBytes = maxBufferedBodyBytes
        let reference = ServerReference()
        handler = TallyAPIHandler(
            engine: engine, authenticator: JWTAuthenticator(secret: APIFixture.secret), limits: http.limits,
            serverGauges: { reference.gauges }, bodyWorkers: bodyWorkers)
        server = try HTTPServer(configuration: http, handler: handler)
        reference.server.withLock { $0 = server }
    }

    deinit {
        server.shutdown()
        try? engine.close()
    }

    static func token(_ roles: [String], tenant: String? = nil, expiresIn: Int64 = 3600, secret: [UInt8] = secret)
        -> String
    {
        let now = Timestamp.now().seconds
        return JWTSigner(secret: secret).sign(
            JWTClaims(subject: "test", roles: roles, tenantId: tenant, expiresAt: now + expiresIn, issuedAt: now))
    }

    func client() throws -> LoopbackClient { try LoopbackClient(port: server.port) }

    func call(
        _ method: String, _ path: String, token: String?, tenantHeader: String? = APIFixture.tenant,
        contentType: String = "application/json", body: String = "", headers extra: [(String, String)] = []
    ) throws -> LoopbackClient.Response {
        var headers: [(String, String)] = [("Content-Type", contentType)] + extra
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if let tenantHeader { headers.append(("x-tenantid", tenantHeader)) }
        return try client().request(method, path, headers: headers, body: Array(body.utf8))
    }

    /// Opens a connection and sends one request on it without waiting for the answer (for requests held
    /// in a fsync while others race them); read it with ``LoopbackClient/readResponse()``.
    func send(_ method: String, _ path: String, token: String, body: String? = nil) throws -> LoopbackClient {
        let client = try client()
        var head =
            "\(method) \(path) HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer \(token)\r\n"
            + "x-tenantid: \(APIFixture.tenant)\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        try client.send(head + "\r\n" + (body ?? ""))
        return client
    }

    static func event(
        _ id: String, _ type: String = "api.call", tenant: String = tenant,
        data: String = #"{"keyId":"k1","status":200}"#
    ) -> String {
        #"{"id":"\#(id)","type":"\#(type)","tenantId":"\#(tenant)","data":\#(data)}"#
    }
}

func json(_ response: LoopbackClient.Response) throws -> JSONObject {
    guard case .object(let object) = try JSONParser().parse(response.body) else {
        throw LoopbackClient.ClientError(message: "not an object")
    }
    return object
}

enum SegmentStoreReader {
    static func open(_ directory: String) throws -> SegmentStore {
        try SegmentStore(directory: directory, configuration: StoreTestSupport.configuration(), readOnly: true)
    }
}
