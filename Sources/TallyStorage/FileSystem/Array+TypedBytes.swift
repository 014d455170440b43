extension Array where Element == UInt8 {
    /// `withUnsafeBytes` for closures that throw ``StorageError``, keeping the error type.
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws(StorageError) -> R) throws(StorageError) -> R {
        let result = withUnsafeBytes { bytes -> Result<R, StorageError> in
            do throws(StorageError) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// `withUnsafeMutableBytes` for closures that throw ``StorageError``, keeping the error type.
    package mutating func withMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws(StorageError) -> R)
        throws(StorageError) -> R
    {
        let result = withUnsafeMutableBytes { bytes -> Result<R, StorageError> in
            do throws(StorageError) { return .success(try body(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
