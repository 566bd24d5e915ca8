import ArgumentParser
import MMS
import MMSNIO
import TASE2

struct MessagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messages",
        abstract: "Enable information messages (IM_Transfer_Set) on a remote VCC and print those that arrive; Ctrl-C disables them and concludes.")
    @OptionGroup var partner: PartnerOptions
    @Option(name: .long, help: "Stop after this many messages (0: until Ctrl-C).")
    var count: Int = 0

    func run() async throws {
        let (count, json) = (self.count, partner.json)
        let interrupt = Interrupt()
        try await partner.withTASE2("messages", limited: false) { c in
            try await c.enableInformationMessages()
            if !json { print("information messages enabled") }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    var seen = 0
                    for await m in c.informationMessages {
                        let text = String(decoding: m.text, as: UTF8.self)
                        let scope: String = if case .icc(let d) = m.scope { d } else { "VCC" }
                        if json {
                            // JSON escapes every control character; C1 controls and DEL are escaped too.
                            Output.json(["messageID": Int(m.messageID), "infoReference": Int(m.infoReference),
                                         "localReference": Int(m.localReference), "scope": scope, "text": Output.jsonSafe(text)])
                        } else {
                            // Text from the partner: control characters never reach the terminal.
                            print("message \(m.messageID) (InfoReference \(m.infoReference), \(Output.safe(scope))): \(Output.safe(text))")
                        }
                        Output.flush()
                        seen += 1
                        if count > 0 && seen >= count { break }
                    }
                }
                group.addTask { await interrupt.wait() }
                await group.next()
                group.cancelAll()
            }
            try? await c.enableInformationMessages(false)
        }
    }
}
