/// A value that writes itself as JSON text straight to bytes, such as the stats the API serves: hot paths
/// call ``writeJSON(to:)`` and build no ``JSONValue`` tree; ``json`` gives the tree where one is wanted.
public protocol JSONWritable {
    /// Appends the value's JSON text.
    /// - Parameter writer: The writer to append to.
    func writeJSON(to writer: inout JSONWriter)
}

extension JSONWritable {
    /// The JSON text of ``writeJSON(to:)``, parsed into a tree (for pretty printing and comparisons).
    public var json: JSONValue {
        var writer = JSONWriter(reservingCapacity: 1024)
        writeJSON(to: &writer)
        // The writer's output is valid JSON by construction; the tests would catch it if it were not.
        return (try? JSONParser().parse(writer.bytes)) ?? .null
    }
}
