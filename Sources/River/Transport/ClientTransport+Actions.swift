import Logging

/// Carrying out the machine's actions, under the transport's lock.
extension ClientTransport {
    /// Carries out actions in order, moving each out of `actions` (which ends empty, its memory
    /// kept); async work is handed to ``run()``.
    func perform(_ actions: inout [SessionStateMachine.Action], in inner: inout Inner) {
        defer {
            if recordsSendBuffer {
                observation.recordSendBuffer(messages: inner.machine.bufferedCount, bytes: inner.machine.bufferedBytes)
            }
        }
        // Reversed once, then popped from the end: each action is moved out, not copied.
        actions.reverse()
        while let action = actions.popLast() {
            switch action {
            case .dial(let attempt):
                jobsContinuation.yield(.dial(attempt))
            case .abandonAttempt(let attempt):
                if let current = inner.connection, current.attempt == attempt {
                    current.connection.abort()
                    inner.connection = nil
                } else {
                    inner.abandoned.insert(attempt)
                }
            case .constructMetadata(let attempt):
                if inner.prefetching.remove(attempt) == nil {
                    jobsContinuation.yield(.metadata(attempt))
                }
            case .constructRehandshakeMetadata(let sessionID):
                jobsContinuation.yield(.rehandshake(sessionID))
            case .write(let bytes):
                // Reached through optional chaining rather than bound: a copy of the live
                // connection retains both of its references, on every message.
                if inner.connection?.fastPath != nil {
                    // The connection is woken after the lock is released (see `locked`).
                    if inner.connection?.fastPath?.enqueue(bytes) == true {
                        inner.flushWhenUnlocked = inner.connection?.fastPath
                    }
                } else {
                    // A connection without the fast path takes arrays: a copy of buffered bytes.
                    inner.connection?.connection.send(bytes.bytes)
                }
            case .closeConnection(let reason):
                logger.debug("closing connection", metadata: [RiverLogMetadataKey.reason: "\(reason)", RiverLogMetadataKey.serverID: "\(serverID)"])
                inner.connection?.connection.close(code: 1000, reason: "")
                inner.connection = nil
            case .deliver(let message):
                let streamID = message.streamId
                if let reader = inner.streams.updateStream(streamID, { $0.receive(message) }) ?? nil { inner.wakeups.append(reader) }
                if message.controlFlags.contains(.streamCancel) {
                    inner.wakeWaiters(of: streamID)
                } else if !inner.endWaiters.isEmpty, inner.streams[streamID]?.isOver == true {
                    inner.wakeWaiters(of: streamID)
                }
            case .failAllStreams(let cause):
                let error = RiverError.sessionFailure(cause, server: serverID)
                // In place, by index: ending a stream changes a value, never the table's layout.
                var index = inner.streams.startIndex
                while index != inner.streams.endIndex {
                    inner.streams.values[index].end(with: error, wakeups: &inner.wakeups)
                    inner.streams.formIndex(after: &index)
                }
                // (The machine follows with `bufferHasRoom`, which wakes every writer waiting.)
                for waiter in inner.endWaiters.values { inner.wakeups.append(waiter.task) }
                inner.endWaiters.removeAll()
            case .bufferHasRoom:
                for waiter in inner.roomWaiters.values { inner.wakeups.append(waiter.task) }
                inner.roomWaiters.removeAll()
            case .emit(let event):
                // A new session's span context goes into its handshakes.
                if let tracing = observation.record(event) { inner.machine.handshakeTracing = tracing }
                for subscriber in inner.subscribers.values { subscriber.yield(event) }
            }
        }
    }
}
