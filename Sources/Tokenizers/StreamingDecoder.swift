// Decoding tokens one at a time for streamed output: a token may end in the middle of a UTF-8
// character (GPT-2 splits most emoji and CJK characters over several tokens), so the decoder holds
// back an incomplete sequence until the bytes that complete it arrive, and never prints half a
// character.

public struct StreamingDecoder {
    public let encoding: Encoding
    private var pending: [UInt8] = []

    public init(encoding: Encoding) { self.encoding = encoding }

    /// The text that is complete after adding `token`; an unfinished character at the end waits.
    public mutating func add(_ token: Int) throws -> String {
        pending += try encoding.decodeBytes([token])
        let complete = Self.completePrefixLength(pending)
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is still held back, with U+FFFD for an incomplete character.
    public mutating func finish() -> String {
        defer { pending = [] }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside a character that could still complete.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        // Look back at most 3 bytes for the lead byte of the last sequence.
        var i = bytes.count - 1
        while i >= 0, i >= bytes.count - 4 {
            let b = bytes[i]
            if b & 0xC0 != 0x80 { // a lead byte (or ASCII)
                let needed = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
                return bytes.count - i < needed && b >= 0xC2 && b <= 0xF4 ? i : bytes.count
            }
            i -= 1
        }
        return bytes.count // only continuation bytes: invalid anyway, emit as replacement characters
    }
}
