import BER
import MMS
import NIOCore

/// Serves one association with a model: the peer's events one at a time, in arrival order, so
/// a Write is done before the Read that follows it (answers still go out as each is ready, and
/// the peer may pipeline). The model hears of the association before any of its requests,
/// and that it ended after the last. Runs as a task of whoever owns the association (the
/// server's task group, or `MMSClient.withAssociation`) and ends with the connection.
enum AssociationServing {
    static func run(_ events: AssociationEventSequence, handler: NIOLoopBound<MMSChannelHandler>,
                    device: some VirtualManufacturingDevice) async {
        var association: MMSAssociation?
        for await event in events {
            switch event {
            case .decide(let request):
                let decision = await device.accept(request)
                handler.eventLoop.execute { handler.value.decided(decision, for: request) }
            case .established(let a):
                association = a
                await device.associationEstablished(a.context)
                // From now on, a Read the model answers from storage is answered on the event loop
                // when nothing of the peer's is still here (so the order holds): no thread hop.
                let d = device
                handler.eventLoop.execute {
                    handler.value.inlineRead = { q, id in
                        d.readsFromStorage(q, for: a.context) ? storageAnswer(q, invokeID: id, device: d, association: a) : nil
                    }
                }
            case .request(let id, let request):
                guard let a = association else { continue }
                let frame = await answer(request, invokeID: id, device: device, association: a)
                handler.eventLoop.execute { handler.value.respondFromServingLoop(id, frame: frame) }
            case .report(let report):
                guard let a = association else { continue }
                await device.received(report, for: a.context)
            }
        }
        if let a = association { await device.associationEnded(a.context) }
    }

    /// The framed answer to a Read the model answers from storage (synchronous: it may run on
    /// the event loop).
    static func storageAnswer(_ q: ReadRequest, invokeID: UInt32, device: some VirtualManufacturingDevice,
                              association a: MMSAssociation) -> ByteBuffer {
        let framing = a.framing
        let allocator = a.allocator
        let capacity: Int
        switch q.variableAccessSpecification {
        // Room to spare for an encoder that reserves ahead (the VCC: 64 points of 40 octets).
        case .variableListName: capacity = max(1024, min(a.listAnswerSize.load(ordering: .relaxed) + 4096, framing.maxPDUSize + 4096))
        case .listOfVariable(let l): capacity = min(64 * l.count + 64, framing.maxPDUSize)
        }
        do {
            do {
                let frame = try framing.frame(capacity: capacity, allocator: allocator) { w in
                    try device.prependReadResponse(q, invokeID: invokeID, for: a.context, to: &w)
                }
                if case .variableListName = q.variableAccessSpecification {
                    a.listAnswerSize.store(frame.readableBytes, ordering: .relaxed)
                }
                return frame
            } catch let e as ServiceError {
                return try framing.frame(.confirmedError(invokeID: invokeID, e), allocator: allocator)
            }
        } catch {
            return failure(error, invokeID: invokeID, association: a)
        }
    }

    /// The error answer when an answer could not be framed: one larger than the negotiated PDU
    /// size becomes a service/pdu-size error, anything else service/other.
    static func failure(_ error: any Error, invokeID: UInt32, association a: MMSAssociation) -> ByteBuffer {
        let e: ServiceError
        if case MMSAssociationError.pduTooLarge(let size, let limit) = error {
            e = ServiceError(.service, 3, additionalDescription: "response of \(size) octets exceeds the negotiated \(limit)")
        } else {
            e = ServiceError(.service, 0, additionalDescription: "\(error)")
        }
        return (try? a.framing.frame(.confirmedError(invokeID: invokeID, e), allocator: a.allocator)) ?? a.allocator.buffer(capacity: 0)
    }

    /// The framed answer to one request: encoded once, into the buffer that is written. An
    /// answer larger than the negotiated PDU size becomes a service/pdu-size error.
    static func answer(_ request: ConfirmedServiceRequest, invokeID: UInt32, device: some VirtualManufacturingDevice,
                       association a: MMSAssociation) async -> ByteBuffer {
        let framing = a.framing
        let allocator = a.allocator
        if case .read(let q) = request, device.readsFromStorage(q, for: a.context) {
            return storageAnswer(q, invokeID: invokeID, device: device, association: a)
        }
        do {
            let pdu: MMSPDU
            switch await VMDDispatcher.serve(request, invokeID: invokeID, device: device, association: a.context, maxPDUSize: framing.maxPDUSize) {
            case .response(let r): pdu = .confirmedResponse(invokeID: invokeID, r)
            case .error(let e): pdu = .confirmedError(invokeID: invokeID, e)
            case .reject(let reason): pdu = .reject(RejectPDU(originalInvokeID: invokeID, pduType: .confirmedRequest, reason: reason))
            }
            return try framing.frame(pdu, allocator: allocator)
        } catch {
            return failure(error, invokeID: invokeID, association: a)
        }
    }
}
