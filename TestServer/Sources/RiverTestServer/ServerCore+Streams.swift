import River

/// Stream routing and procedure-stream lifecycle, after upstream `router/server.ts`.
extension ServerCore {
    // MARK: Routing

    func route(_ message: TransportMessage, session: SessionRecord) {
        guard message.to == serverID else { return }  // not for this server: ignored upstream
        if let stream = streams[message.streamId] {
            streamMessage(stream, message)
            return
        }
        if tombstones[session.clientID]?.contains(message.streamId) == true { return }

        func refuse(_ text: String) {
            cancelNewStream(message.streamId, session: session, error: ErrorPayload(code: ReservedErrorCode.invalidRequest, message: text))
        }
        guard message.controlFlags.contains(.streamOpen) else {
            return refuse("can't create a new procedure stream from a message that doesn't have the stream open bit set")
        }
        guard let serviceName = message.serviceName else { return refuse("missing service name in stream open message") }
        guard let procedureName = message.procedureName else { return refuse("missing procedure name in stream open message") }
        if protobufMode, let refusal = protobufRefusal(message, service: serviceName, procedure: procedureName) {
            return cancelNewStream(message.streamId, session: session, error: refusal)
        }
        guard let service = procedures[serviceName] else { return refuse("couldn't find service \(serviceName)") }
        guard let procedure = service[procedureName] else {
            return refuse("couldn't find a matching procedure for \(serviceName).\(procedureName)")
        }
        guard procedure.initSchema.check(message.payload) else { return refuse("procedure init failed validation") }

        if let tracing = message.tracing, !tracing.traceparent.isEmpty { lastTraceContext = tracing }
        let stream = StreamRecord(id: message.streamId, clientID: session.clientID, sessionID: session.id, procedure: procedure)
        addStream(stream)
        if message.controlFlags.contains(.streamClosed) {
            stream.readableClosed = true
        }
        handlerStarted(stream, initPayload: message.payload)
        if stream.readableClosed, streams[stream.id] === stream {
            handlerReadableEnded(stream)
        }
    }

    func cancelNewStream(_ streamID: String, session: SessionRecord, error: ErrorPayload) {
        tombstones[session.clientID, default: Tombstones()].insert(streamID)
        sendSequenced(session: session, streamID: streamID, flags: .streamCancel, payload: ResultEnvelope.error(error).value)
    }

    private func streamMessage(_ stream: StreamRecord, _ message: TransportMessage) {
        if message.controlFlags.contains(.streamCancel) {
            clientCancelled(stream)
            return
        }
        if stream.readableClosed {
            serverCancel(stream, ErrorPayload(code: ReservedErrorCode.invalidRequest, message: "received message after request stream is closed"))
            return
        }
        let closes = message.controlFlags.contains(.streamClosed)
        if let input = stream.procedure.input, input.check(message.payload) {
            handlerReceived(stream, message.payload)
            if closes, streams[stream.id] === stream, !stream.readableClosed { closeReadable(stream) }
            return
        }
        if closes, (try? ControlPayload.parse(message.payload)) != nil {
            closeReadable(stream)
            return
        }
        let errors: [SchemaValidationError]
        let text: String
        if let input = stream.procedure.input {
            text = "message in requestData position did not match schema"
            errors = input.errors(of: message.payload)
        } else {
            text = "message in control payload position did not match schema"
            errors = [SchemaValidationError(path: "", message: "must match a schema in anyOf")]
        }
        serverCancel(
            stream,
            ErrorPayload(
                code: ReservedErrorCode.invalidRequest, message: text,
                extras: [
                    "totalErrors": .int(Int64(errors.count)),
                    "firstValidationErrors": .array(errors.prefix(5).map(\.value)),
                ]))
    }

    // MARK: Lifecycle (readable = requests in, writable = responses out)

    /// The client closed its request side cleanly: the handler sees the end of its readable.
    private func closeReadable(_ stream: StreamRecord) {
        guard !stream.readableClosed else { return }
        stream.readableClosed = true
        handlerReadableEnded(stream)
        if stream.writableClosed { cleanup(stream) }
    }

    /// The handler closes its writable: streams and subscriptions send CLOSE (unless cancelled).
    func closeWritable(_ stream: StreamRecord) {
        guard !stream.writableClosed else { return }
        stream.writableClosed = true
        if !stream.procedure.closesWithResponse, stream.cleanClose {
            send(on: stream, flags: .streamClosed, payload: ControlPayload.close.value)
        }
        if stream.readableClosed { cleanup(stream) }
    }

    /// The handler writes one result; rpc and upload results carry Closed and end the writable.
    func write(_ stream: StreamRecord, _ result: ResultEnvelope) {
        write(stream, payload: result.value)
    }

    /// Writes one response payload as is (protobuf services answer with bare message bytes).
    func write(_ stream: StreamRecord, payload: RiverValue) {
        guard !stream.writableClosed else { return }  // upstream throws inside the handler; nothing is sent
        let closes = stream.procedure.closesWithResponse
        send(on: stream, flags: closes ? .streamClosed : [], payload: payload)
        if closes { closeWritable(stream) }
    }

    /// Client CANCEL: the request side ends, the writable closes (CLOSE for streams and
    /// subscriptions, nothing for rpc and upload), and the handler is aborted.
    private func clientCancelled(_ stream: StreamRecord) {
        if !stream.readableClosed {
            stream.readableClosed = true
            if stream.writableClosed { cleanup(stream) }
        }
        closeWritable(stream)
    }

    /// A server-side cancel (`INVALID_REQUEST`, `UNCAUGHT_ERROR`, the handler's own cancel):
    /// both sides end without CLOSE and the client gets the error with the Cancel bit.
    func serverCancel(_ stream: StreamRecord, _ error: ErrorPayload) {
        if stream.readableClosed, stream.writableClosed { return }
        stream.cleanClose = false
        stream.readableClosed = true
        stream.writableClosed = true
        cleanup(stream)
        tombstones[stream.clientID, default: Tombstones()].insert(stream.id)
        send(on: stream, flags: .streamCancel, payload: ResultEnvelope.error(error).value)
    }

    /// The session that opened the stream is gone: end it without sending anything.
    func sessionLost(_ stream: StreamRecord) {
        stream.cleanClose = false
        stream.readableClosed = true
        stream.writableClosed = true
        cleanup(stream)
    }

    private func cleanup(_ stream: StreamRecord) {
        guard streams[stream.id] === stream else { return }
        removeStream(stream)
        handlerAborted(stream)
    }
}
