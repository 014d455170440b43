import TallyHTTP
import Testing

@Suite("Model types")
struct ModelTests {
    @Test("header lookup is case-insensitive and order-preserving")
    func headerLookup() {
        let headers: HTTPHeaders = ["Accept": "a", "X-Multi": "1", "x-multi": "2", "Host": "h"]
        #expect(headers["accept"] == "a")
        #expect(headers["X-MULTI"] == "1")
        #expect(headers.values("x-Multi") == ["1", "2"])
        #expect(headers["missing"] == nil)
        #expect(headers.values("missing").isEmpty)
        #expect(headers.count == 4)
        #expect(headers.map(\.name) == ["Accept", "X-Multi", "x-multi", "Host"])
        #expect(headers["Acceptx"] == nil)
    }

    @Test("headers can be built up by appending")
    func headerAppend() {
        var headers = HTTPHeaders()
        headers.append(name: "A", value: "1")
        headers.append(name: "B", value: "2")
        #expect(headers == HTTPHeaders([HTTPHeader(name: "A", value: "1"), HTTPHeader(name: "B", value: "2")]))
        #expect(headers != ["B": "2", "A": "1"])
    }

    @Test(
        "error codes map to statuses",
        arguments: [
            (HTTPParseError.Code.badRequest, 400), (.headersTooLarge, 431), (.targetTooLong, 414), (.bodyTooLarge, 413),
            (.versionNotSupported, 505), (.notImplemented, 501), (.lengthRequired, 411),
        ])
    func errorStatus(code: HTTPParseError.Code, status: Int) {
        let error = HTTPParseError(code: code, message: "m")
        #expect(error.status == status)
        #expect(error.description.hasPrefix("\(status) "))
        #expect(error.description.hasSuffix(": m"))
    }

    @Test("method names round-trip", arguments: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "BREW"])
    func methodNames(name: String) {
        #expect(HTTPMethod(name: name).name == name)
    }

    @Test("parsed well-known methods use their dedicated cases")
    func parsedMethods() throws {
        for (name, method) in [
            ("GET", HTTPMethod.get), ("HEAD", .head), ("POST", .post), ("PUT", .put),
            ("PATCH", .patch), ("DELETE", .delete), ("OPTIONS", .options), ("TRACE", .other("TRACE")),
        ] {
            var parser = HTTPRequestParser()
            parser.feed(bytes("\(name) / HTTP/1.1\r\n\r\n"))
            #expect(try parser.next()?.method == method)
        }
    }

    @Test("default limits match the documented values")
    func defaultLimits() {
        let limits = HTTPLimits()
        #expect(limits.maxHeaderBytes == 16 * 1024)
        #expect(limits.maxBodyBytes == 16 * 1024 * 1024)
        #expect(limits.maxHeaderCount == 100)
        #expect(limits.lengthRequiredMethods.isEmpty)
    }
}
