// The Unicode character classes the encodings' split patterns test, one bit each, looked up per
// scalar. The patterns use \p{L} (letters), \p{N} (numbers), \s (White_Space), and o200k also
// groups letters by case: "upper-ish" [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and "lower-ish"
// [\p{Ll}\p{Lm}\p{Lo}\p{M}]. Categories come from the standard library's Unicode scalar properties.
//
// Speed: the first four planes (every assigned letter but a few historic scripts) are precomputed
// into a table on first use (~262k property lookups, a few ms); the rest is asked directly.

struct CharacterClass: OptionSet, Sendable {
    let rawValue: UInt8
    static let letter = CharacterClass(rawValue: 1)      // \p{L}
    static let number = CharacterClass(rawValue: 2)      // \p{N}
    static let whitespace = CharacterClass(rawValue: 4)  // \s (White_Space)
    static let upperish = CharacterClass(rawValue: 8)    // \p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}
    static let lowerish = CharacterClass(rawValue: 16)   // \p{Ll}\p{Lm}\p{Lo}\p{M}
    static let mark = CharacterClass(rawValue: 32)       // \p{M}

    static func compute(_ value: UInt32) -> CharacterClass {
        guard let scalar = Unicode.Scalar(value) else { return [] }
        var c: CharacterClass = []
        if scalar.properties.isWhitespace { c.insert(.whitespace) }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: c.formUnion([.letter, .upperish])
        case .lowercaseLetter: c.formUnion([.letter, .lowerish])
        case .modifierLetter, .otherLetter: c.formUnion([.letter, .upperish, .lowerish])
        case .nonspacingMark, .spacingMark, .enclosingMark: c.formUnion([.mark, .upperish, .lowerish])
        case .decimalNumber, .letterNumber, .otherNumber: c.insert(.number)
        default: break
        }
        return c
    }

    static let tableLimit: UInt32 = 0x40000
    /// Classes of U+0000..<U+40000, built once; kept as a raw buffer for the hot loop (reading a
    /// `static let` array goes through a lazy-initialisation check on every access).
    nonisolated(unsafe) static let table: UnsafeBufferPointer<CharacterClass> = { // written once, then only read
        let buffer = UnsafeMutableBufferPointer<CharacterClass>.allocate(capacity: Int(tableLimit))
        for v in 0..<tableLimit { buffer[Int(v)] = compute(v) }
        return UnsafeBufferPointer(buffer)
    }()
}

/// UTF-8 text being split: decodes the scalar at a byte offset and tells its class.
/// The bytes come from a Swift String, so they are valid UTF-8.
struct UTF8Text {
    let bytes: UnsafeBufferPointer<UInt8>
    let count: Int
    private let table: UnsafeBufferPointer<CharacterClass>

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        count = bytes.count
        table = CharacterClass.table
    }

    /// The scalar starting at byte `i` and its length in bytes.
    @inline(__always)
    func scalar(at i: Int) -> (value: UInt32, length: Int) {
        let b0 = UInt32(bytes[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                | UInt32(bytes[i + 3] & 0x3F), 4)
    }

    @inline(__always)
    func classAt(_ i: Int) -> (CharacterClass, Int) {
        let (v, n) = scalar(at: i)
        return (v < CharacterClass.tableLimit ? table[Int(v)] : CharacterClass.compute(v), n)
    }

    @inline(__always)
    func isCRLF(_ i: Int) -> Bool { bytes[i] == 0x0A || bytes[i] == 0x0D }

    /// End of the run of scalars from `i` whose class intersects `wanted`.
    @inline(__always)
    func run(from i: Int, _ wanted: CharacterClass) -> Int {
        var j = i
        while j < count {
            let (c, n) = classAt(j)
            if c.isDisjoint(with: wanted) { break }
            j += n
        }
        return j
    }

    /// Neither whitespace, letter nor number: the class [^\s\p{L}\p{N}].
    @inline(__always)
    func isOther(_ c: CharacterClass) -> Bool { c.isDisjoint(with: [.whitespace, .letter, .number]) }
}
