import ArgumentParser
import MMS
import MMSNIO
import TASE2

struct ControlCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control",
        abstract: "Operate a device of a remote VCC: select it first (--select, for select-before-operate devices), then write the command or setpoint.")
    @OptionGroup var partner: PartnerOptions
    @Argument(help: "The device: NAME (VCC) or ICC/NAME.")
    var device: String
    @Option(name: .long, help: "Command: 0 = TRIP/OPEN/OFF/LOWER, 1 = CLOSE/ON/RAISE (also a discrete setpoint).")
    var command: Int16?
    @Option(name: .long, help: "A real setpoint.")
    var setpoint: Float?
    @Flag(name: .long, help: "Select before operate: Read <device>_SBO first.")
    var select = false

    func validate() throws {
        guard (command == nil) != (setpoint == nil) else { throw ValidationError("give exactly one of --command and --setpoint") }
        _ = try checkedObjectName(device)
    }

    func run() async throws {
        let (device, select, setpoint, command, json) = (self.device, self.select, self.setpoint, self.command, partner.json)
        let name = try checkedObjectName(device)
        let scope: ObjectScope = name.domain.map { .icc($0) } ?? .vcc
        do {
            try await partner.withTASE2("control") { c in
                var checkBack: Int16?
                if select {
                    checkBack = try await c.select(name.itemName, in: scope)
                    if !json { print("selected \(Output.safe(device)): CheckBackName \(checkBack!)") }
                }
                if let setpoint {
                    try await c.operate(name.itemName, in: scope, setpoint: setpoint)
                } else {
                    try await c.operate(name.itemName, in: scope, command: command ?? 0)
                }
                if json {
                    var o: [String: Any] = ["device": name.description, "operated": true]
                    if let checkBack { o["checkBackName"] = Int(checkBack) }
                    if let setpoint { o["setpoint"] = Double(setpoint) } else { o["command"] = Int(command ?? 0) }
                    Output.json(o)
                } else {
                    print("operated \(Output.safe(device))")
                }
            }
        } catch let e as DataAccessError {
            if json { Output.json(["device": name.description, "operated": false, "error": "\(e)"]) }
            printError("\(Output.safe(device)): \(e)")
            throw ExitCode.failure
        }
    }
}

struct TagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Show a device's tag (GetTag), or set it (SetTag) with --set.")
    @OptionGroup var partner: PartnerOptions
    @Argument(help: "The device: NAME (VCC) or ICC/NAME.")
    var device: String
    @Option(name: .long, help: "no-tag, open-and-close-inhibit or close-only-inhibit.")
    var set: String?
    @Option(name: .long, help: "Why (with --set; at most 255 characters).")
    var reason: String = ""

    func validate() throws {
        _ = try checkedObjectName(device)
        if let set, Self.kind(set) == nil { throw ValidationError("--set \(escaped(set)): use no-tag, open-and-close-inhibit or close-only-inhibit") }
        guard reason.utf8.count <= 255, reason.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else {
            throw ValidationError("--reason is at most 255 printable ASCII characters")
        }
    }

    static func kind(_ s: String) -> DeviceTag.Kind? { [DeviceTag.Kind.none, .openAndCloseInhibit, .closeOnlyInhibit].first { $0.name == s } }

    func run() async throws {
        let (device, set, reason, json) = (self.device, self.set, self.reason, partner.json)
        let name = try checkedObjectName(device)
        let scope: ObjectScope = name.domain.map { .icc($0) } ?? .vcc
        do {
            try await partner.withTASE2("tag") { c in
                if let set, let kind = Self.kind(set) { try await c.setTag(name.itemName, in: scope, DeviceTag(kind, reason: reason)) }
                let t = try await c.tag(name.itemName, in: scope)
                if json {
                    Output.json(["device": name.description, "tag": t.kind.name, "armed": t.armed, "reason": t.reason])
                } else {
                    print("\(Output.safe(device))  \(t.kind.name)\(t.armed ? "  armed" : "")\(t.reason.isEmpty ? "" : "  " + escaped(t.reason))")
                }
            }
        } catch let e as DataAccessError {
            if json { Output.json(["device": name.description, "error": "\(e)"]) }
            printError("\(Output.safe(device)): \(e)")
            throw ExitCode.failure
        }
    }
}
