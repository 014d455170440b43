/// A value that may only be touched on one event loop's thread, carried across threads inside closures that
/// run on that loop (as swift-nio's `NIOLoopBound`). The loop's `execute` is the only way back to it.
struct LoopBound<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
