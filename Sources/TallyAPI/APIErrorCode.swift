/// The `error.code` of an error envelope: a fixed set, so a client can switch on it and no typo can invent one.
enum APIErrorCode: String, Sendable, CaseIterable {
    /// Authorization or x-tenantid sent more than once (400).
    case duplicateHeader = "duplicate_header"
    /// An ingest body that holds no events (400).
    case emptyBatch = "empty_batch"
    /// Every event of an ingest was rejected (422; the results say why).
    case eventsRejected = "events_rejected"
    /// The token's roles or tenant do not allow the request (403).
    case forbidden
    /// Something that should not happen did (500).
    case internalError = "internal_error"
    /// A body of the wrong shape for its media type (400).
    case invalidBody = "invalid_body"
    /// A gzip body that is corrupt (400).
    case invalidGzip = "invalid_gzip"
    /// An organization id in the path that is not a UUID (400).
    case invalidOrganizationId = "invalid_organization_id"
    /// An `x-tenantid` that is not a UUID (400).
    case invalidTenantHeader = "invalid_tenant_header"
    /// A tenant id in the path that is not a UUID (400).
    case invalidTenantId = "invalid_tenant_id"
    /// An ingest body that is not JSON (400, with the position).
    case malformedJson = "malformed_json"
    /// A known path with another method (405, with `Allow`).
    case methodNotAllowed = "method_not_allowed"
    /// No `x-tenantid` header (400).
    case missingTenantHeader = "missing_tenant_header"
    /// No route for the path (404).
    case notFound = "not_found"
    /// A method HTTP does not define, on any path (501).
    case notImplemented = "not_implemented"
    /// An organization with no events (404).
    case organizationNotFound = "organization_not_found"
    /// A body, or a decompressed one, over the limit (413).
    case payloadTooLarge = "payload_too_large"
    /// The store failed: nothing of the request was acknowledged (503).
    case storageFailed = "storage_failed"
    /// A change to a deleted tenant that does not restore it (409).
    case tenantDeleted = "tenant_deleted"
    /// A create of a tenant id that exists (409).
    case tenantExists = "tenant_exists"
    /// A tenant with no record or events (404).
    case tenantNotFound = "tenant_not_found"
    /// More events in one body than the cap (413).
    case tooManyEvents = "too_many_events"
    /// A missing, malformed, expired or wrongly signed token (401).
    case unauthorized
    /// A `Content-Encoding` other than gzip or identity, or too many (415).
    case unsupportedContentEncoding = "unsupported_content_encoding"
    /// A `Content-Type` the route does not read (415).
    case unsupportedMediaType = "unsupported_media_type"
}
