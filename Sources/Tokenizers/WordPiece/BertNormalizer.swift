// BERT's text clean-up and word splitting before WordPiece, as Hugging Face's BertNormalizer and
// BertPreTokenizer do it (the `tokenizers` library behind BertTokenizerFast):
//   1. clean-up: drop NUL, U+FFFD and control characters (Unicode category C, but tab, newline and carriage
//      return), then every white space character (Unicode's White_Space) becomes a space;
//   2. CJK ideographs are split off one by one (spaces put around each);
//   3. for uncased vocabularies: accents stripped (NFD, then the combining marks, category Mn, removed) and
//      lower case;
//   4. words: split on white space, and every punctuation character (ASCII's symbols, or Unicode category P)
//      is a word of its own.

import Foundation

public struct BertNormalizer: Sendable, Equatable {
    public var cleanText = true
    public var handleChineseChars = true
    public var stripAccents = true
    public var lowercase = true

    public init(cleanText: Bool = true, handleChineseChars: Bool = true, stripAccents: Bool? = nil, lowercase: Bool = true) {
        self.cleanText = cleanText
        self.handleChineseChars = handleChineseChars
        self.stripAccents = stripAccents ?? lowercase // BERT's default: accents go with the case
        self.lowercase = lowercase
    }

    /// Unicode's White_Space property (as Rust's char::is_whitespace, which `tokenizers` uses): the spaces, tab,
    /// the line breaks and U+2028/U+2029; those that are also control characters are dropped first.
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    /// The general category as `tokenizers` sees it: its category tables (the unicode_categories crate) are
    /// Unicode 8.0's, so a character assigned later is in none of the categories asked about here.
    static func category(_ c: Unicode.Scalar) -> Unicode.GeneralCategory? {
        guard let age = c.properties.age, age.major < 8 || (age.major == 8 && age.minor == 0) else { return nil }
        return unicode8Categories[c.value] ?? c.properties.generalCategory
    }

    /// Characters whose category has changed since Unicode 8.0, as 8.0 had them (those the parity corpus meets).
    static let unicode8Categories: [UInt32: Unicode.GeneralCategory] = [
        0x111C9: .otherPunctuation, // SHARADA SANDHI MARK, Mn since Unicode 12
        0x1171E: .nonspacingMark,   // AHOM CONSONANT SIGN MEDIAL RA, Mc since Unicode 11
    ]

    static func isControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch category(c) {
        case .control, .format, .surrogate, .privateUse, .unassigned: return true
        default: return false
        }
    }

    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        switch category(c) {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks (not Japanese kana or Korean hangul, which are written with spaces).
    static func isChineseChar(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B820...0x2CEAF,
             0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }

    /// The text after steps 1–3.
    public func normalize(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for c in text.unicodeScalars {
            if cleanText {
                if c.value == 0 || c.value == 0xFFFD || Self.isControl(c) { continue }
                if Self.isWhitespace(c) { scalars.append(" "); continue }
            }
            if handleChineseChars && Self.isChineseChar(c) {
                scalars.append(" "); scalars.append(c); scalars.append(" ")
            } else {
                scalars.append(c)
            }
        }
        var out = String(scalars)
        if stripAccents {
            var kept = String.UnicodeScalarView()
            for c in out.decomposedStringWithCanonicalMapping.unicodeScalars where Self.category(c) != .nonspacingMark {
                kept.append(c)
            }
            out = String(kept)
        }
        return lowercase ? out.lowercased() : out
    }

    /// Step 4: the words of normalised text.
    public static func words(_ text: String) -> [String] {
        var words: [String] = [], current = String.UnicodeScalarView()
        func flush() {
            if !current.isEmpty { words.append(String(current)); current = String.UnicodeScalarView() }
        }
        for c in text.unicodeScalars {
            if isWhitespace(c) {
                flush()
            } else if isPunctuation(c) {
                flush()
                words.append(String(c))
            } else {
                current.append(c)
            }
        }
        flush()
        return words
    }
}
