/// A count with its noun, singular or plural as the count asks: `1 segment`, `2 segments`, `0 records`.
/// - Parameters:
///   - count: How many.
///   - noun: The noun in the singular; its plural adds an `s`.
func counted(_ count: Int, _ noun: String) -> String {
    "\(count) \(noun)\(count == 1 ? "" : "s")"
}
