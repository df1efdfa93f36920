/// What a call does with its payloads besides encoding and decoding them: the interceptors'
/// transforms, and recording service errors on the call's span. A call without interceptor
/// transforms or a tracer has none.
final class CallHooks: Sendable {
    private let inputTransform: (@Sendable (RiverValue) throws -> RiverValue)?
    private let resultTransform: (@Sendable (ResultEnvelope) throws -> ResultEnvelope)?
    private let observation: CallObservation?

    /// The hooks `request` and `observation` ask for; `nil` when there are none (checked
    /// before allocating: most calls have none).
    static func make(request: RiverClientRequest, observation: CallObservation) -> CallHooks? {
        guard request.inputTransform != nil || request.resultTransform != nil || observation.span != nil else { return nil }
        return CallHooks(request: request, observation: observation)
    }

    private init(request: RiverClientRequest, observation: CallObservation) {
        inputTransform = request.inputTransform
        resultTransform = request.resultTransform
        self.observation = observation.span == nil ? nil : observation
    }

    /// A request the caller wrote, after the interceptors' transforms.
    func input(_ payload: RiverValue) throws -> RiverValue {
        guard let inputTransform else { return payload }
        return try inputTransform(payload)
    }

    /// Decodes a result after the interceptors' transforms, recording a service error on the
    /// call's span.
    func decodeResult<Output: Decodable, Failure: Error & Decodable>(
        _ payload: RiverValue, _: Output.Type, _: Failure.Type
    ) throws -> Result<Output, Failure> {
        var envelope = try CallReader.parseResult(payload)
        if let resultTransform { envelope = try resultTransform(envelope) }
        if case .error(let error) = envelope { observation?.recordServiceError(code: error.code, message: error.message) }
        return try CallReader.decodeResult(envelope, Output.self, Failure.self)
    }
}
