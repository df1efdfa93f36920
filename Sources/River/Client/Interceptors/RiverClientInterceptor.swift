/// Cross-cutting behaviour around every call of a client: authentication, logging, retries,
/// defaults, request and result rewriting.
///
/// Interceptors run in order: those of ``RiverClient/Configuration/interceptors`` first, then
/// those of the call's ``CallOptions/interceptors``; each calls `next` to run the rest of the
/// chain and, at its end, the call itself. An interceptor can:
/// - read the procedure (``RiverClientContext/descriptor``), the options and the caller's
///   `ServiceContext`, and change them before calling `next` (a default deadline, another server);
/// - change or replace the init payload (``RiverClientRequest/initPayload``), or refuse the call
///   by throwing instead of calling `next`;
/// - observe or rewrite each request the caller writes and each result the server sends
///   (``RiverClientRequest/transformInputs(_:)``, ``RiverClientRequest/transformResults(_:)``);
/// - observe how the call ended (what `next` returns or throws) and call `next` again to retry.
///
/// `next` runs the whole call, including the caller's body for uploads, subscriptions and
/// streams; calling it again runs that body again, so only retry procedures whose callers
/// expect it (``RetryInterceptor`` retries rpcs only). Generated clients go through the chain
/// like any other call.
///
/// ```swift
/// struct BearerToken: RiverClientInterceptor {
///     let token: @Sendable () async throws -> String
///     func intercept<Value: Sendable>(
///         request: RiverClientRequest, context: RiverClientContext,
///         next: (RiverClientRequest, RiverClientContext) async throws -> Value
///     ) async throws -> Value {
///         var request = request
///         if case .object(var fields) = request.initPayload {
///             fields["token"] = .string(try await token())
///             request.initPayload = .object(fields)
///         }
///         return try await next(request, context)
///     }
/// }
/// ```
public protocol RiverClientInterceptor: Sendable {
    /// Intercepts one call.
    /// - Parameters:
    ///   - request: The call's init payload and its input and result transforms.
    ///   - context: The procedure, the call's options and the caller's `ServiceContext`.
    ///   - next: Runs the rest of the chain and the call; returns what the call returns.
    /// - Returns: What `next` returned (or a value from an earlier attempt).
    /// - Throws: What `next` threw, or an error of the interceptor's own to refuse the call.
    func intercept<Value: Sendable>(
        request: RiverClientRequest,
        context: RiverClientContext,
        next: (_ request: RiverClientRequest, _ context: RiverClientContext) async throws -> Value
    ) async throws -> Value
}
