import Glibc

/// Writes to standard error (diagnostics never go to standard output, which carries results).
func printError(_ text: String) {
    var line = text
    line += "\n"
    line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}

/// Reads all of standard input (for the `-` argument).
func readStandardInput() -> [UInt8] {
    var bytes = [UInt8]()
    var chunk = [UInt8](repeating: 0, count: 65536)
    let limit = 64 << 20
    while bytes.count < limit {
        let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return bytes
}
