import ArgumentParser
import MMS
import MMSNIO
import TASE2

struct ReadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read variables of a remote VCC (NAME for VCC scope, ICC/NAME for an ICC): one typed line per point.",
        discussion: """
            A point's type comes from --type, then --config, then the partner's GetVariableAccessAttributes. \
            Where the wire cannot tell types apart the first in the standard's order is shown: a lone \
            BitString(8) is State (StateQ and StateSupplemental look the same), {BitString(8), BitString(8)} \
            is StateQ, {Integer32, BitString(8)} without component names is DiscreteQ.
            """)
    @OptionGroup var partner: PartnerOptions
    @Argument(help: "Variables to read.")
    var names: [String]

    func validate() throws {
        for n in names { _ = try checkedObjectName(n) }
    }

    func run() async throws {
        let names = self.names.map(objectName)
        let declared = try partner.declaredTypes()
        let json = partner.json
        try await partner.withMMS("read") { a in
            let types = PointTypes(a)
            types.declare(declared)
            let readings = try await types.read(names)
            if json {
                Output.json(readings.map(Output.json))
            } else {
                for l in Output.table(["NAME", "TYPE", "VALUE", "QUALITY", "TIME"], readings.map(Output.cells), indent: "").dropFirst() {
                    print(l.trimmingTrailingSpaces)
                }
            }
        }
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
