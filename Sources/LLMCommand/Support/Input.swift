// Reading user input for the commands: files or standard input, checked to be UTF-8 text, with
// errors that say which file and where.

import Foundation

enum Input {
    /// The bytes of `path`, or of standard input for "-".
    static func bytes(_ path: String) throws -> Data {
        if path == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CommandError("\(path): no such file")
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            throw CommandError("\(path): cannot read it (is it a directory, or unreadable?)")
        }
        return data
    }

    /// The text of `path` ("-" for standard input), which must be valid UTF-8.
    static func text(_ path: String) throws -> String {
        let data = try bytes(path)
        if let text = String(validating: data, as: UTF8.self) { return text }
        throw CommandError("\(path == "-" ? "standard input" : path): not valid UTF-8 (first bad byte at offset \(firstInvalidUTF8Offset(data)))")
    }

    /// Offset of the first byte that does not start or continue a valid UTF-8 sequence.
    static func firstInvalidUTF8Offset(_ data: Data) -> Int {
        let bytes = [UInt8](data)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            let length = b < 0x80 ? 1 : (b >= 0xC2 && b <= 0xDF) ? 2 : (b >= 0xE0 && b <= 0xEF) ? 3 : (b >= 0xF0 && b <= 0xF4) ? 4 : 0
            if length == 0 || i + length > bytes.count { return i }
            if String(validating: bytes[i..<(i + length)], as: UTF8.self) == nil { return i }
            i += length
        }
        return bytes.count
    }
}

/// The Verdict, shipped with the command as the default training and evaluation text.
func embeddedVerdict() throws -> String {
    guard let url = Bundle.module.url(forResource: "the-verdict", withExtension: "txt") else {
        throw CommandError("the embedded text is missing from the build")
    }
    return try String(contentsOf: url, encoding: .utf8)
}
