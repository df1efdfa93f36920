import Synchronization

/// What a call does besides sending and receiving its messages: the interceptors' transforms,
/// and its observation (span, metrics, debug log lines), which learns of its service errors,
/// its session and how it ended. A call without interceptor transforms, a tracer, a metrics
/// backend or debug logging has none.
///
/// One heap object per observed call, held by its ``Call``: the observation state used to sit
/// in the async frame of the function a call runs in, which a waiting call keeps for its whole
/// life (an idle subscription is mostly such frames), observed or not.
final class CallHooks: Sendable {
    private let inputTransform: (@Sendable (RiverValue) throws -> RiverValue)?
    private let resultTransform: (@Sendable (ResultEnvelope) throws -> ResultEnvelope)?
    private let observation: CallObservation
    private let serviceErrorSeen = Atomic(false)

    /// The hooks `request` and `observation` ask for; `nil` when there are none (checked
    /// before allocating: most calls have none).
    static func make(request: RiverClientRequest, observation: CallObservation) -> CallHooks? {
        guard request.inputTransform != nil || request.resultTransform != nil || observation.isActive else { return nil }
        return CallHooks(request: request, observation: observation)
    }

    private init(request: RiverClientRequest, observation: CallObservation) {
        inputTransform = request.inputTransform
        resultTransform = request.resultTransform
        self.observation = observation
    }

    /// The trace context for the call's open message (see ``CallObservation/tracing(override:)``).
    func tracing(override: TracingContext?) -> TracingContext {
        observation.tracing(override: override)
    }

    /// The call's open message went out: its span is linked to the session's span.
    func opened(on transport: ClientTransport) {
        guard observation.span != nil else { return }
        observation.link(toSession: transport.observation.sessionSpanContext)
    }

    /// The call ended: its span ends, its metrics and log line record `ending`.
    func finish(_ ending: CallEnding, on transport: ClientTransport) {
        observation.finish(ending, sessionID: transport.sessionID)
    }

    /// The call threw `error`: it ends as ``CallEnding/threw(_:afterServiceError:)`` says.
    func finish(threw error: any Error, on transport: ClientTransport) {
        finish(.threw(error, afterServiceError: sawServiceError), on: transport)
    }

    /// Whether the server sent a service error result on the call (a call that then threw
    /// ends as `SERVICE_ERROR`, as protobuf calls do).
    var sawServiceError: Bool { serviceErrorSeen.load(ordering: .relaxed) }

    /// A request the caller wrote, after the interceptors' transforms.
    /// - Throws: What a transform threw.
    func input(_ payload: RiverValue) throws -> RiverValue {
        guard let inputTransform else { return payload }
        return try inputTransform(payload)
    }

    /// A result after the interceptors' transforms; a service error is recorded on the span.
    /// - Throws: What a transform threw.
    func result(_ envelope: ResultEnvelope) throws -> ResultEnvelope {
        var envelope = envelope
        if let resultTransform { envelope = try resultTransform(envelope) }
        if case .error(let error) = envelope { noteServiceError(error) }
        return envelope
    }

    /// A raw call's payload (``RawCall``) after the transforms: a payload that is not a result
    /// envelope (a protobuf message's bytes) is seen by them as a successful result. The
    /// payload passes unchanged (with any fields an ``ErrorPayload`` does not keep) unless a
    /// transform changed it.
    /// - Throws: What a transform threw.
    func rawResult(_ payload: RiverValue) throws -> RiverValue {
        let parsed = try? ResultEnvelope(parsing: payload)
        let envelope = parsed ?? .ok(payload)
        let transformed = try result(envelope)
        guard transformed != envelope else { return payload }
        if parsed == nil, case .ok(let value) = transformed { return value }
        return transformed.value
    }

    private func noteServiceError(_ error: ErrorPayload) {
        serviceErrorSeen.store(true, ordering: .relaxed)
        observation.recordServiceError(code: error.code, message: error.message)
    }
}
