// Errors for everything a user can get wrong: files, ids, special tokens. Each message says what was
// wrong, where, and, when there is one, the fix.

import Foundation

public enum TokenizerError: Error, Equatable, CustomStringConvertible, LocalizedError {
    case disallowedSpecialToken(String)
    case unknownToken(Int, vocabularySize: Int)
    case unknownWord(String)
    case invalidFile(path: String, line: Int?, reason: String)
    case hashMismatch(path: String, expected: String, actual: String)
    case unknownEncoding(String)
    case invalidUTF8(path: String, byteOffset: Int)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .disallowedSpecialToken(let token):
            return "the text contains the special token \(token), which is not allowed here; " +
                "allow it (allowedSpecial: [\"\(token)\"] or .all; --allowed-special on the command line) " +
                "to encode it as one special token, or use encodeOrdinary to encode it as plain text"
        case .unknownToken(let id, let size):
            return "token id \(id) is not in the vocabulary (ids go from 0 to \(size - 1))"
        case .unknownWord(let word):
            return "the word \"\(word)\" is not in the vocabulary (SimpleTokenizerV2 maps unknown words to <|unk|>)"
        case .invalidFile(let path, let line, let reason):
            return "\(path)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case .hashMismatch(let path, let expected, let actual):
            return "\(path): sha256 is \(actual), expected \(expected); the file is corrupt or not the one it claims to be"
        case .unknownEncoding(let name):
            return "unknown encoding \"\(name)\"; known: \(BuiltinEncoding.allCases.map(\.rawValue).joined(separator: ", ")), or the path of a .tiktoken file"
        case .invalidUTF8(let path, let offset):
            return "\(path): not valid UTF-8 (first bad byte at offset \(offset))"
        case .invalidArgument(let message):
            return message
        }
    }

    public var errorDescription: String? { description }
}
