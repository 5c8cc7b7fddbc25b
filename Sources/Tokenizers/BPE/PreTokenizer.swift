// Pre-tokenization: cutting text into the pieces that BPE then encodes one by one, exactly as each
// encoding's regular expression would (tiktoken runs them with fancy-regex). Written by hand for
// speed; each function below says which alternative of the pattern each branch implements.
// `RegexPreTokenizer` in the tests runs the patterns with a general regex engine as the reference.
//
// Every function returns the end (byte offset) of the piece that starts at `i`; the alternatives
// are tried in the pattern's order, the first that matches wins (leftmost-first, like the regex).

public enum PreTokenizer: String, Sendable, CaseIterable {
    /// gpt2 / r50k_base / p50k_base:
    /// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  (possessive forms)
    case r50k
    /// cl100k_base
    case cl100k
    /// o200k_base
    case o200k
    /// Qwen2 / Qwen2.5 / Qwen3 (their tokenizer.json's Split pattern): cl100k's pattern with single digits,
    /// \p{N} where cl100k has \p{N}{1,3}, so numbers are read digit by digit.
    case qwen2

    /// The pattern as tiktoken 0.14 writes it.
    public var pattern: String {
        switch self {
        case .r50k: return #"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"#
        case .cl100k:
            return #"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"#
        case .o200k:
            return [
                #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
                #"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"#,
                #"\p{N}{1,3}"#, #" ?[^\s\p{L}\p{N}]+[\r\n/]*"#, #"\s*[\r\n]+"#, #"\s+(?!\S)"#, #"\s+"#,
            ].joined(separator: "|")
        case .qwen2:
            return #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
        }
    }

    /// The split patterns of Hugging Face `tokenizer.json` files that are one of these, as those files spell
    /// them: Llama 3's is cl100k's (as tiktoken wrote it before its possessive rewrite), Qwen2's is `qwen2`.
    public static let huggingFacePatterns: [String: PreTokenizer] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#: .cl100k,
        PreTokenizer.qwen2.pattern: .qwen2,
        PreTokenizer.cl100k.pattern: .cl100k,
        PreTokenizer.o200k.pattern: .o200k,
        PreTokenizer.r50k.pattern: .r50k,
    ]

    /// Calls `body(start, end)` for each piece of `text` (UTF-8 byte offsets), in order.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (Int, Int) -> Void) {
        let text = UTF8Text(bytes: bytes)
        var i = 0
        while i < text.count {
            let end: Int
            switch self {
            case .r50k: end = Self.r50kPiece(text, i)
            case .cl100k: end = Self.cl100kPiece(text, i)
            case .qwen2: end = Self.cl100kPiece(text, i, digits: 1)
            case .o200k: end = Self.o200kPiece(text, i)
            }
            body(i, end)
            i = end
        }
    }

    /// The pieces of a string, for inspection and tests.
    public func pieces(_ string: String) -> [String] {
        var s = string
        return s.withUTF8 { buffer in
            var out: [String] = []
            split(buffer) { a, b in out.append(String(decoding: UnsafeBufferPointer(rebasing: buffer[a..<b]), as: UTF8.self)) }
            return out
        }
    }

    // MARK: r50k

    static func r50kPiece(_ t: UTF8Text, _ i: Int) -> Int {
        let b = t.bytes
        // '(?:[sdmt]|ll|ve|re)  (case-sensitive)
        if b[i] == UInt8(ascii: "'"), i + 1 < t.count {
            switch b[i + 1] {
            case UInt8(ascii: "s"), UInt8(ascii: "d"), UInt8(ascii: "m"), UInt8(ascii: "t"): return i + 2
            default:
                if i + 2 < t.count, isPair(b[i + 1], b[i + 2], caseInsensitive: false) { return i + 3 }
            }
        }
        // ` ?\p{L}++ | ?\p{N}++ | ?[^\s\p{L}\p{N}]++`: the classes are disjoint, so the optional
        // space goes with whichever class follows it.
        var start = i
        if b[i] == UInt8(ascii: " "), i + 1 < t.count, !t.classAt(i + 1).0.contains(.whitespace) { start = i + 1 }
        let (c, _) = t.classAt(start)
        if c.contains(.letter) { return t.run(from: start, .letter) }
        if c.contains(.number) { return t.run(from: start, .number) }
        if t.isOther(c) { return runOfOther(t, from: start) }
        return whitespacePiece(t, i, lineBreakAlternative: false)
    }

    // MARK: cl100k

    static func cl100kPiece(_ t: UTF8Text, _ i: Int, digits: Int = 3) -> Int {
        let b = t.bytes
        // '(?i:[sdmt]|ll|ve|re)
        if b[i] == UInt8(ascii: "'"), let end = contraction(t, i + 1, letters: "sdmt", pairs: true) { return end }
        let (c, n) = t.classAt(i)
        // [^\r\n\p{L}\p{N}]?+\p{L}++
        if c.contains(.letter) { return t.run(from: i, .letter) }
        if !c.contains(.number), !t.isCRLF(i), i + n < t.count, t.classAt(i + n).0.contains(.letter) {
            return t.run(from: i + n, .letter)
        }
        // \p{N}{1,3}+ (qwen2: \p{N})
        if c.contains(.number) { return numbers(t, i, atMost: digits) }
        // ` ?[^\s\p{L}\p{N}]++[\r\n]*+`
        var start = i
        if b[i] == UInt8(ascii: " "), i + 1 < t.count, t.isOther(t.classAt(i + 1).0) { start = i + 1 }
        if t.isOther(t.classAt(start).0) {
            var j = runOfOther(t, from: start)
            while j < t.count, t.isCRLF(j) { j += 1 }
            return j
        }
        return whitespacePiece(t, i, lineBreakAlternative: true)
    }

    // MARK: o200k

    static func o200kPiece(_ t: UTF8Text, _ i: Int) -> Int {
        let (c, n) = t.classAt(i)
        // The optional prefix [^\r\n\p{L}\p{N}]? is greedy but not possessive: with it first, then without.
        let prefixed = !c.contains(.letter) && !c.contains(.number) && !t.isCRLF(i) && i + n < t.count
        // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ then an optional contraction
        if prefixed, let end = upperThenLower(t, i + n) { return contractionSuffix(t, end) }
        if let end = upperThenLower(t, i) { return contractionSuffix(t, end) }
        // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* then an optional contraction
        if prefixed, t.classAt(i + n).0.contains(.upperish) {
            return contractionSuffix(t, t.run(from: t.run(from: i + n, .upperish), .lowerish))
        }
        if c.contains(.upperish) { return contractionSuffix(t, t.run(from: t.run(from: i, .upperish), .lowerish)) }
        // \p{N}{1,3}
        if c.contains(.number) { return numbers(t, i, atMost: 3) }
        // ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
        var start = i
        if t.bytes[i] == UInt8(ascii: " "), i + 1 < t.count, t.isOther(t.classAt(i + 1).0) { start = i + 1 }
        if t.isOther(t.classAt(start).0) {
            var j = runOfOther(t, from: start)
            while j < t.count, t.isCRLF(j) || t.bytes[j] == UInt8(ascii: "/") { j += 1 }
            return j
        }
        // \s*[\r\n]+ | \s+(?!\S) | \s+
        let end = t.run(from: i, .whitespace)
        if let lastBreak = lastLineBreak(t, from: i, to: end) { return lastBreak + 1 }
        if end == t.count { return end }
        let last = lastScalarStart(t, from: i, to: end)
        return last > i ? last : end
    }

    /// `U*L+` at `s` with backtracking: U* first takes the longest upper-ish run, then gives scalars
    /// back until L+ can start. Returns the end of L+ (greedy), or nil.
    static func upperThenLower(_ t: UTF8Text, _ s: Int) -> Int? {
        var j = s, lastBoth = -1 // last scalar in the U run that is lower-ish too (Lm, Lo, M)
        while j < t.count {
            let (c, n) = t.classAt(j)
            if !c.contains(.upperish) { break }
            if c.contains(.lowerish) { lastBoth = j }
            j += n
        }
        if j < t.count, t.classAt(j).0.contains(.lowerish) { return t.run(from: j, .lowerish) }
        // Backtracking into the U run: L+ starts at the last scalar that is both; the scalars after it
        // in the run are Lu/Lt, which end L+ at once.
        if lastBoth >= 0 { return lastBoth + t.classAt(lastBoth).1 }
        return nil
    }

    /// (?i:'s|'t|'re|'ve|'m|'ll|'d)? after a letter run.
    static func contractionSuffix(_ t: UTF8Text, _ end: Int) -> Int {
        guard end < t.count, t.bytes[end] == UInt8(ascii: "'") else { return end }
        return contraction(t, end + 1, letters: "stmd", pairs: true) ?? end
    }

    // MARK: Shared pieces

    /// After an apostrophe at `i - 1`: one of `letters` or ll/ve/re, case-insensitively (as Unicode
    /// case folding has it, "s" also matches U+017F LATIN SMALL LETTER LONG S). Returns the end.
    static func contraction(_ t: UTF8Text, _ i: Int, letters: String, pairs: Bool) -> Int? {
        guard i < t.count else { return nil }
        let b = t.bytes[i]
        if b < 0x80, letters.utf8.contains(b | 0x20), isASCIILetter(b) { return i + 1 }
        if b == 0xC5, i + 1 < t.count, t.bytes[i + 1] == 0xBF, letters.utf8.contains(UInt8(ascii: "s")) { return i + 2 }
        if pairs, i + 1 < t.count, isPair(b, t.bytes[i + 1], caseInsensitive: true) { return i + 2 }
        return nil
    }

    static func isASCIILetter(_ b: UInt8) -> Bool { (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z") }

    /// ll, ve or re.
    static func isPair(_ a: UInt8, _ b: UInt8, caseInsensitive: Bool) -> Bool {
        guard isASCIILetter(a), isASCIILetter(b) else { return false }
        let (x, y) = caseInsensitive ? (a | 0x20, b | 0x20) : (a, b)
        return (x == UInt8(ascii: "l") && y == UInt8(ascii: "l")) || (x == UInt8(ascii: "v") && y == UInt8(ascii: "e"))
            || (x == UInt8(ascii: "r") && y == UInt8(ascii: "e"))
    }

    static func runOfOther(_ t: UTF8Text, from i: Int) -> Int {
        var j = i
        while j < t.count {
            let (c, n) = t.classAt(j)
            if !t.isOther(c) { break }
            j += n
        }
        return j
    }

    static func numbers(_ t: UTF8Text, _ i: Int, atMost limit: Int) -> Int {
        var j = i, count = 0
        while j < t.count, count < limit {
            let (c, n) = t.classAt(j)
            if !c.contains(.number) { break }
            j += n
            count += 1
        }
        return j
    }

    /// Byte offset of the last CR or LF in [from, to), if any.
    static func lastLineBreak(_ t: UTF8Text, from: Int, to: Int) -> Int? {
        var j = to - 1
        while j >= from {
            if t.isCRLF(j) { return j }
            j -= 1
        }
        return nil
    }

    /// Start of the last scalar in [from, to).
    static func lastScalarStart(_ t: UTF8Text, from: Int, to: Int) -> Int {
        var j = to - 1
        while j > from, t.bytes[j] & 0xC0 == 0x80 { j -= 1 }
        return j
    }

    /// The whitespace alternatives shared by r50k and cl100k:
    /// \s++$ | (cl100k only: \s*[\r\n]) | \s+(?!\S) | \s
    static func whitespacePiece(_ t: UTF8Text, _ i: Int, lineBreakAlternative: Bool) -> Int {
        let end = t.run(from: i, .whitespace)
        if end == t.count { return end }                            // \s++$
        if lineBreakAlternative, let lastBreak = lastLineBreak(t, from: i, to: end) { return lastBreak + 1 }
        let last = lastScalarStart(t, from: i, to: end)           // \s+(?!\S): all but the last
        if last > i { return last }
        return i + t.scalar(at: i).length                         // \s
    }
}
