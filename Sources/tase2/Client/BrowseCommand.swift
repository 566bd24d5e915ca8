import ArgumentParser
import Foundation
import MMS
import MMSNIO
import TASE2

struct BrowseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "browse",
        abstract: "Associate with a remote VCC, run the association check and show what it offers us: points with type, value, quality and time; data sets with members; devices; information buffers; transfer sets.",
        discussion: """
            Names are told apart by the partner's type descriptions: a point type is a point, a DSTransferSet \
            is a transfer set (counted, not listed), <Dev>_SBO and <Dev>_TAG make <Dev> a device, as does \
            an Integer16 variable. A direct-operate real setpoint has the type of a Real point and is shown \
            as a point unless it refuses to be read.
            """)
    @OptionGroup var partner: PartnerOptions

    func run() async throws {
        let declared = try partner.declaredTypes()
        let json = partner.json
        try await partner.withMMS("browse") { a in
            let types = PointTypes(a)
            types.declare(declared)
            try await Self.browse(a, types: types, json: json)
        }
    }


    struct Device {
        var name: ObjectName
        var kind: String
        var sbo = false
        var taggable = false
        var tag: DeviceTag?
    }

    static func browse(_ a: MMSAssociation, types: PointTypes, json: Bool) async throws {
        let id = try await a.identify()
        let domains = try await a.getNameList(.domain, scope: .vmdSpecific)
        let check = try await a.read([VariableAccess(.vmdSpecific(TASE2Names.version)), VariableAccess(.vmdSpecific(TASE2Names.supportedFeatures))]
            + domains.map { VariableAccess(.domainSpecific(domain: $0, item: TASE2Names.bilateralTableID)) })
        var version = describe(check[0])
        var edition = "unknown"
        if case .success(.structure(let v)) = check[0], v.count == 2, case .integer(let major) = v[0], case .integer(let minor) = v[1] {
            version = "\(major).\(minor)"
            edition = major == 1996 ? "1996.08" : major == 2000 ? "2000.08" : "unknown"
        }
        var blocks: [Int] = []
        if case .success(.bitString(let f)) = check[1] { blocks = (0..<f.count).filter { f[bit: $0] }.map { $0 + 1 } }
        var tables: [String: String] = [:]
        for (d, r) in zip(domains, check.dropFirst(2)) { tables[d] = r.data.map { if case .visibleString(let s) = $0 { s } else { describe($0) } } ?? describe(r) }

        // Every variable and data set, by scope.
        var variables: [ObjectName] = []
        var lists: [ObjectName] = []
        for scope in [GetNameListRequest.ObjectScope.vmdSpecific] + domains.map({ .domainSpecific($0) }) {
            let wrap: (String) -> ObjectName = { n in if case .domainSpecific(let d) = scope { .domainSpecific(domain: d, item: n) } else { .vmdSpecific(n) } }
            variables += try await a.getNameList(.namedVariable, scope: scope).map(wrap)
            lists += try await a.getNameList(.namedVariableList, scope: scope).map(wrap)
        }
        var byName = Set(variables)
        var devices: [ObjectName: Device] = [:]
        var buffers: [(ObjectName, Int)] = []
        var other: [ObjectName] = []
        var candidates: [ObjectName] = []
        for n in variables {
            let item = n.itemName
            if PointTypes.systemNames.contains(item) { other.append(n); continue }
            if item.hasPrefix("Info_Buff_") { buffers.append((n, Int(item.dropFirst(10)) ?? 0)); continue }
            if item.hasSuffix("_SBO") || item.hasSuffix("_TAG"), byName.contains(n.renamedItem(String(item.dropLast(4)))) {
                let dev = n.renamedItem(String(item.dropLast(4)))
                devices[dev, default: Device(name: dev, kind: "")].sbo = devices[dev]?.sbo == true || item.hasSuffix("_SBO")
                devices[dev]!.taggable = devices[dev]!.taggable || item.hasSuffix("_TAG")
                continue
            }
            candidates.append(n)
        }
        byName = []
        let progress = Progress("describing")
        let described = await types.describe(candidates, progress: progress.update)
        progress.finish()
        var transferSets: [String: Int] = [:]
        var points: [ObjectName] = []
        for n in candidates {
            let t = described[n]
            if let t, t.isDSTransferSet {
                transferSets[n.domain ?? "VCC", default: 0] += 1
            } else if devices[n] != nil || t == .integer(16) {
                devices[n, default: Device(name: n, kind: "")].kind = t == .float32 ? "real setpoint" : "command or discrete setpoint"
            } else if types.known(n) != nil || t == nil {
                points.append(n)
            } else {
                other.append(n)
            }
        }
        let readProgress = Progress("reading")
        let total = points.count
        var readings = try await types.read(points) { readProgress.update($0, total) }
        readProgress.finish()
        // A direct real setpoint looks like a Real point; it shows itself by refusing the read.
        readings.removeAll { r in
            guard r.type?.type == .real, r.error == .objectAccessDenied || r.error == .objectAccessUnsupported else { return false }
            devices[r.name] = Device(name: r.name, kind: "real setpoint")
            return true
        }
        for (n, d) in devices where d.taggable {
            if let data = try? await a.read(n.renamedItem(n.itemName + "_TAG")) { devices[n]?.tag = DeviceTag(data) }
        }
        var dataSets: [(ObjectName, [ObjectName])] = []
        for l in lists {
            let members = (try? await a.listAttributes(l))?.variables.compactMap(\.variable.name) ?? []
            dataSets.append((l, members))
        }
        let deviceList = devices.values.sorted { $0.name < $1.name }

        if json {
            Output.json([
                "partner": ["vendor": id.vendorName, "model": id.modelName, "revision": id.revision,
                            "apTitle": a.info.peerAPTitle.map { "\($0)" } ?? NSNull()] as [String: Any],
                "associationCheck": ["version": version, "edition": edition, "supportedBlocks": blocks, "bilateralTables": tables] as [String: Any],
                "points": readings.map(Output.json),
                "dataSets": dataSets.map { ["name": $0.0.description, "members": $0.1.map(\.description)] },
                "devices": deviceList.map { d -> [String: Any] in
                    var o: [String: Any] = ["name": d.name.description, "kind": d.kind, "sbo": d.sbo, "taggable": d.taggable]
                    if let t = d.tag { o["tag"] = ["kind": t.kind.name, "armed": t.armed, "reason": t.reason] as [String: Any] }
                    return o
                },
                "informationBuffers": buffers.map { ["name": $0.0.description, "size": $0.1] as [String: Any] },
                "transferSets": transferSets,
                "otherVariables": other.map(\.description),
            ] as [String: Any])
            return
        }
        print("partner: \(Output.safe(id.vendorName)) \(Output.safe(id.modelName)) \(Output.safe(id.revision)) (AP-title \(a.info.peerAPTitle.map { "\($0)" } ?? "-"))")
        print("association check: TASE2_Version \(version) (edition \(edition)); Supported_Features: blocks \(blocks.map(String.init).joined(separator: ", "))")
        for d in domains { print("ICC \(Output.safe(d)): Bilateral_Table_ID \(escaped(tables[d] ?? "-"))") }
        print("")
        print("POINTS (\(readings.count))")
        for l in Output.table(["NAME", "TYPE", "VALUE", "QUALITY", "TIME"], readings.map(Output.cells)) { print(l.trimmingTrailingSpaces) }
        print("")
        print("DATA SETS (\(dataSets.count))")
        for (n, m) in dataSets { print("  \(Output.safe(n.description))  \(m.count) members: \(m.map { Output.safe($0.description) }.joined(separator: ", "))") }
        print("")
        print("DEVICES (\(deviceList.count))")
        let deviceRows = deviceList.map { d in
            [Output.safe(d.name.description), d.kind, d.sbo ? "SBO" : "direct", d.taggable ? "tag: \(d.tag.map { "\($0)" } ?? "?")" : "no tag"]
        }
        for l in Output.table(["NAME", "KIND", "OPERATE", "TAG"], deviceRows) { print(l.trimmingTrailingSpaces) }
        print("")
        print("INFORMATION BUFFERS (\(buffers.count))")
        for (n, size) in buffers { print("  \(Output.safe(n.description))  \(size) octets") }
        print("")
        let ts = transferSets.sorted { $0.key < $1.key }.map { "\(Output.safe($0.key)): \($0.value)" }
        print("TRANSFER SETS: \(ts.isEmpty ? "none" : ts.joined(separator: ", "))")
        print("OTHER VARIABLES: \(other.map { Output.safe($0.description) }.joined(separator: " "))")
    }
}

extension TypeSpecification {
    /// A DSTransferSet of either edition.
    var isDSTransferSet: Bool { [Edition.v2000, .v1996].contains { sameShape(DSTransferSet.typeSpecification($0)) } }
}
