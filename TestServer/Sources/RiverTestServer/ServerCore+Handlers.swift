import River

/// The reference test services' handlers (python-client branch `tests/test_server.ts`),
/// written as reactions to stream events. Every upstream handler is a loop over its request
/// readable, so "a value arrived", "the readable ended" and "the stream was torn down" are all
/// they ever react to. Payloads were validated against the procedure's schema before these run.
extension ServerCore {
    func handlerStarted(_ stream: StreamRecord, initPayload: RiverValue) {
        if protobufMode { return protobufHandlerStarted(stream, initPayload: initPayload) }
        let procedure = stream.procedure
        switch (procedure.key, procedure.kind) {
        case ("test.add", _):
            services.testTotal += number(initPayload["n"])
            write(stream, .ok(["result": jsNumber(services.testTotal)]))
        case ("test.echo", .rpc):  // handshake mode
            write(stream, .ok(["response": initPayload["msg"] ?? ""]))
        case ("test.echoWithPrefix", _), ("uploadable.addMultipleWithPrefix", _):
            stream.prefix = initPayload["prefix"]?.stringValue ?? ""
        case ("test.echoBinary", _):
            let data = initPayload["data"] ?? .bytes([])
            let length: Int = if case .bytes(let bytes) = data { bytes.count } else { 0 }
            write(stream, .ok(["data": data, "length": .int(Int64(length))]))
        case ("test.echoRecursive", _):
            write(stream, .ok(initPayload))
        case ("ordering.add", _):
            let n = initPayload["n"] ?? 0
            services.orderingMessages.append(n)
            write(stream, .ok(["n": n]))
        case ("ordering.getAll", _):
            write(stream, .ok(["msgs": .array(services.orderingMessages)]))
        case ("fallible.divide", _):
            let a = number(initPayload["a"])
            let b = number(initPayload["b"])
            if b == 0 {
                write(stream, .error(ErrorPayload(code: "DIV_BY_ZERO", message: "Cannot divide by zero")))
            } else if !(a / b).isFinite {
                write(stream, .error(ErrorPayload(code: "INFINITY", message: "Result is infinity")))
            } else {
                write(stream, .ok(["result": jsNumber(a / b)]))
            }
        case ("subscribable.add", _):
            services.subscriptionCount += number(initPayload["n"])
            let count = jsNumber(services.subscriptionCount)
            for id in services.subscribers.members {
                if let subscriber = streams[id] { write(subscriber, .ok(["count": count])) }
            }
            write(stream, .ok(["result": count]))
        case ("subscribable.value", _):
            write(stream, .ok(["count": jsNumber(services.subscriptionCount)]))
            if streams[stream.id] === stream { services.subscribers.append(stream.id) }
        case ("cancel.immediateRpc", _), ("cancel.immediateStream", _):
            write(stream, .ok(["done": true]))
        case ("cancel.immediateSubscription", _):
            write(stream, .ok(["done": true]))
            closeWritable(stream)
        case ("cancel.countedStream", _):
            // `for (let i = 0; i < total; i++)`, capped so a hostile total cannot wedge the server.
            let total = min(number(initPayload["total"]), 100_000)
            var i = 0.0
            while i < total {
                write(stream, .ok(["i": jsNumber(i)]))
                i += 1
            }
        default:
            // test.echo, fallible.echo, uploads and the blocking procedures wait for requests
            // (or forever).
            break
        }
    }

    func handlerReceived(_ stream: StreamRecord, _ value: RiverValue) {
        if protobufMode { return protobufHandlerReceived(stream, value) }
        switch stream.procedure.key {
        case "test.echo", "test.echoWithPrefix":
            if value["ignore"]?.boolValue == true { return }
            let msg = value["msg"]?.stringValue ?? ""
            let response = stream.procedure.name == "echoWithPrefix" ? "\(stream.prefix) \(msg)" : msg
            write(stream, .ok(["response": .string(response)]))
        case "fallible.echo":
            if value["throwError"]?.boolValue == true {
                serverCancel(stream, ErrorPayload(code: ReservedErrorCode.uncaughtError, message: "uncaught error"))
                return
            }
            if value["throwResult"]?.boolValue == true {
                write(stream, .error(ErrorPayload(code: "STREAM_ERROR", message: "stream error")))
                return
            }
            write(stream, .ok(["response": value["msg"] ?? ""]))
        case "uploadable.addMultiple", "uploadable.addMultipleWithPrefix":
            stream.total += number(value["n"])
        case "uploadable.cancellableAdd":
            stream.total += number(value["n"])
            if stream.total >= 10 {
                // `ctx.cancel()` then `return Err(...)`: the cancel wins, the Err is never sent.
                serverCancel(stream, ErrorPayload(code: ReservedErrorCode.cancel, message: "total exceeds limit"))
            }
        default:
            break
        }
    }

    func handlerReadableEnded(_ stream: StreamRecord) {
        if protobufMode { return protobufHandlerReadableEnded(stream) }
        switch stream.procedure.key {
        case "test.echo" where stream.procedure.kind == .stream:
            closeWritable(stream)
        case "test.echoWithPrefix", "fallible.echo", "cancel.immediateStream", "cancel.countedStream":
            closeWritable(stream)
        case "uploadable.addMultiple", "uploadable.cancellableAdd":
            write(stream, .ok(["result": jsNumber(stream.total)]))
        case "uploadable.addMultipleWithPrefix":
            write(stream, .ok(["result": .string("\(stream.prefix) \(jsNumberString(stream.total))")]))
        case "cancel.immediateUpload":
            write(stream, .ok(["done": true]))
        default:
            break
        }
    }

    /// The stream finished or was torn down (upstream aborts `ctx.signal`).
    func handlerAborted(_ stream: StreamRecord) {
        if stream.procedure.key == "subscribable.value" {
            services.subscribers.remove(stream.id)
            closeWritable(stream)
        }
    }

    private func number(_ value: RiverValue?) -> Double {
        value?.doubleValue ?? 0
    }
}

/// A JavaScript number as River sends it: integral values as integers, others as doubles.
func jsNumber(_ value: Double) -> RiverValue {
    if value.rounded(.towardZero) == value, abs(value) <= 9_007_199_254_740_991, let i = Int64(exactly: value) {
        return .int(i)
    }
    return .double(value)
}

/// `String(number)` in JavaScript, for the values these services produce.
func jsNumberString(_ value: Double) -> String {
    if value.rounded(.towardZero) == value, abs(value) < 1e21, let i = Int64(exactly: value) {
        return String(i)
    }
    return value.description
}
