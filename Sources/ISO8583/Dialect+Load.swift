import Foundation

/// Finding a dialect by built-in name or by file path, so every command and listener takes one `--spec` value.
extension Dialect {
    /// Spec files larger than this are refused before parsing; a full 192-field spec is about 20 KiB.
    public static let specFileBytesMax = 1 << 20

    /// A built-in dialect name (see `BuiltinDialects.names`) or the path of a spec file (JSON or jPOS XML).
    /// Built-in names win, so a file that happens to be called `iso87ascii` in the working directory needs a
    /// path such as `./iso87ascii`.
    public static func named(_ nameOrPath: String) throws(DialectError) -> Dialect {
        if let builtin = BuiltinDialects.dialect(named: nameOrPath) { return builtin }
        return try load(path: nameOrPath)
    }

    /// Reads a spec file and picks the format by content, not by extension: the first non-space byte is `{`
    /// for our JSON format and `<` for a jPOS GenericPackager XML file. Errors name the file.
    public static func load(path: String) throws(DialectError) -> Dialect {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            let known = BuiltinDialects.names.joined(separator: ", ")
            throw DialectError(source: path, field: nil, message: "no such file, and not a built-in dialect (\(known))")
        }
        guard !isDirectory.boolValue else { throw DialectError(source: path, field: nil, message: "is a directory") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > specFileBytesMax
        {
            throw DialectError(source: path, field: nil, message: "file of \(size) bytes exceeds \(specFileBytesMax)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DialectError(source: path, field: nil, message: "cannot be read")
        }
        return try fromSpecBytes(Array(data), source: path)
    }

    /// Parses spec bytes of either format; `source` names them in errors.
    public static func fromSpecBytes(_ bytes: [UInt8], source: String) throws(DialectError) -> Dialect {
        var index = 0
        // Skip a UTF-8 byte order mark and white space before deciding.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        guard index < bytes.count else { throw DialectError(source: source, field: nil, message: "file is empty") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try fromJSON(bytes, source: source)
        case UInt8(ascii: "<"): return try fromJPOSPackagerXML(bytes, source: source)
        default:
            throw DialectError(
                source: source, field: nil,
                message: "not a spec file: expected JSON (starting with {) or jPOS packager XML (starting with <)")
        }
    }
}
