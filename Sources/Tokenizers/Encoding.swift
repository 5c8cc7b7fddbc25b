// A byte-level BPE encoding, token for token identical to tiktoken's: a pre-tokenizer that cuts text
// into pieces, the mergeable ranks that BPE applies to each piece's UTF-8 bytes, and special tokens
// (whole strings like <|endoftext|> with ids of their own).
//
// Policy lives here, the algorithm in BytePairMerge.swift: like tiktoken, `encode` refuses text that
// contains a special token unless it is allowed (so that user text cannot smuggle in control tokens),
// and `encodeOrdinary` treats everything as plain text.

import Dispatch
import Foundation

public final class Encoding: @unchecked Sendable { // immutable after init
    /// Which special tokens `encode` may produce.
    public enum AllowedSpecial: Sendable, Equatable {
        case none, all
        case some(Set<String>)
    }

    public let name: String
    public let preTokenizer: PreTokenizer
    /// Special token text → id.
    public let specialTokens: [String: Int]
    /// One more than the largest token id (tiktoken's `n_vocab`).
    public let vocabularySize: Int
    let ranks: RankTable
    /// Ranks (ids) of ordinary tokens: 0..<rankCount; special tokens may come after.
    public let rankCount: Int
    private let specialByID: [Int: [UInt8]]
    private let specialFirstBytes: [Bool]

    /// Whether text is put in Unicode normalization form C before encoding (Qwen's tokenizer.json asks for it).
    public let normalizesToNFC: Bool

    /// `tokens[rank]` holds the bytes of each mergeable rank (nil where a rank is unused).
    public init(name: String, preTokenizer: PreTokenizer, tokens: [[UInt8]?], specialTokens: [String: Int],
                normalizesToNFC: Bool = false) {
        self.name = name
        self.normalizesToNFC = normalizesToNFC
        self.preTokenizer = preTokenizer
        self.specialTokens = specialTokens
        ranks = RankTable(tokens: tokens)
        rankCount = tokens.count
        vocabularySize = max(tokens.count, (specialTokens.values.max() ?? -1) + 1)
        specialByID = Dictionary(uniqueKeysWithValues: specialTokens.map { ($1, Array($0.utf8)) })
        var first = [Bool](repeating: false, count: 256)
        for s in specialTokens.keys { if let b = s.utf8.first { first[Int(b)] = true } }
        specialFirstBytes = first
    }

    /// The token that ends a document: <|endoftext|> (GPT-2, Qwen) or <|end_of_text|> (Llama 3), if the encoding has one.
    public var endOfText: Int? { specialTokens["<|endoftext|>"] ?? specialTokens["<|end_of_text|>"] }

    // MARK: Encoding

    /// Token ids of `text` with special-token text encoded as plain text.
    public func encodeOrdinary(_ text: String) -> [Int] {
        var text = normalizesToNFC ? text.precomposedStringWithCanonicalMapping : text
        return text.withUTF8 { bytes in
            var out: [Int] = []
            out.reserveCapacity(bytes.count / 3)
            var cache = PieceCache()
            encodePlain(bytes, into: &out, cache: &cache)
            return out
        }
    }

    /// Token ids of `text`. Special tokens in `allowedSpecial` become their ids; any other special
    /// token in the text is an error (tiktoken's default `disallowed_special="all"`).
    public func encode(_ text: String, allowedSpecial: AllowedSpecial = .none) throws -> [Int] {
        var cache = PieceCache()
        return try encode(text, allowedSpecial: allowedSpecial, cache: &cache)
    }

    func encode(_ text: String, allowedSpecial: AllowedSpecial, cache: inout PieceCache) throws -> [Int] {
        let allowed: Set<String>
        switch allowedSpecial {
        case .none: allowed = []
        case .all: allowed = Set(specialTokens.keys)
        case .some(let set):
            for token in set where specialTokens[token] == nil {
                throw TokenizerError.invalidArgument("\(token) is not a special token of \(name); it has: \(specialTokens.keys.sorted().joined(separator: ", "))")
            }
            allowed = set
        }
        var text = normalizesToNFC ? text.precomposedStringWithCanonicalMapping : text
        return try text.withUTF8 { bytes in
            var out: [Int] = []
            out.reserveCapacity(bytes.count / 3)
            var start = 0
            while let (at, token) = nextSpecial(in: bytes, from: start) {
                guard allowed.contains(token) else { throw TokenizerError.disallowedSpecialToken(token) }
                encodePlain(UnsafeBufferPointer(rebasing: bytes[start..<at]), into: &out, cache: &cache)
                out.append(specialTokens[token]!)
                start = at + token.utf8.count
            }
            encodePlain(UnsafeBufferPointer(rebasing: bytes[start...]), into: &out, cache: &cache)
            return out
        }
    }

    /// Encodes many texts in parallel on all cores (results in input order). Texts are handed out in
    /// contiguous chunks, a few per core, so that scheduling costs little even for short texts.
    public func encodeBatch(_ texts: [String], allowedSpecial: AllowedSpecial = .none) throws -> [[Int]] {
        // Each chunk writes only its own slots.
        nonisolated(unsafe) let results = UnsafeMutableBufferPointer<Result<[Int], Error>?>.allocate(capacity: texts.count)
        results.initialize(repeating: nil)
        defer { results.deinitialize(); results.deallocate() }
        let chunks = min(texts.count, ProcessInfo.processInfo.activeProcessorCount * 4)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            var cache = PieceCache() // shared by the texts of one chunk
            for i in (chunk * texts.count / chunks)..<((chunk + 1) * texts.count / chunks) {
                results[i] = Result { try self.encode(texts[i], allowedSpecial: allowedSpecial, cache: &cache) }
            }
        }
        return try results.map { try $0!.get() }
    }

    /// The earliest special token in bytes[from...], as (byte offset, token).
    private func nextSpecial(in bytes: UnsafeBufferPointer<UInt8>, from: Int) -> (Int, String)? {
        guard !specialTokens.isEmpty else { return nil }
        var i = from
        while i < bytes.count {
            if specialFirstBytes[Int(bytes[i])] {
                var best: String?
                for token in specialTokens.keys where token.utf8.count <= bytes.count - i {
                    if token.utf8.elementsEqual(bytes[i..<(i + token.utf8.count)]), token.utf8.count > (best?.utf8.count ?? 0) {
                        best = token
                    }
                }
                if let best { return (i, best) }
            }
            i += 1
        }
        return nil
    }

    /// Pre-tokenizes and BPE-encodes text that holds no special tokens (or where they are plain text).
    func encodePlain(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int], cache: inout PieceCache) {
        preTokenizer.split(bytes) { a, b in
            let piece = UnsafeBufferPointer(rebasing: bytes[a..<b])
            // Most pieces (a word with its leading space) are a token of their own.
            let whole = ranks.rank(piece.baseAddress!, piece.count)
            if whole != RankTable.missing {
                out.append(Int(whole))
                return
            }
            if cache.lookup(piece, into: &out) { return }
            let first = out.count
            bytePairMerge(piece, ranks, into: &out)
            cache.store(piece, Array(out[first...]))
        }
    }

    // MARK: Single tokens

    /// The id of a byte string that is one token (mergeable or special), else nil.
    public func token(forBytes bytes: [UInt8]) -> Int? {
        let r = bytes.withUnsafeBufferPointer { $0.isEmpty ? RankTable.missing : ranks.rank($0.baseAddress!, $0.count) }
        if r != RankTable.missing { return Int(r) }
        return specialTokens.first { Array($0.key.utf8) == bytes }?.value
    }

    /// The bytes of one token, or nil when the id is not in the vocabulary.
    public func bytes(ofToken id: Int) -> [UInt8]? {
        if id >= 0, id < rankCount, ranks.tokenLengths[id] > 0 { return Array(ranks.bytes(of: id)) }
        return specialByID[id]
    }

    // MARK: Decoding

    /// The bytes the tokens stand for.
    public func decodeBytes(_ tokens: [Int]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(tokens.count * 4)
        for id in tokens {
            if id >= 0, id < rankCount, ranks.tokenLengths[id] > 0 {
                out.append(contentsOf: ranks.bytes(of: id))
            } else if let special = specialByID[id] {
                out.append(contentsOf: special)
            } else {
                throw TokenizerError.unknownToken(id, vocabularySize: vocabularySize)
            }
        }
        return out
    }

    /// The text the tokens stand for; bytes that are not valid UTF-8 become U+FFFD (as tiktoken's
    /// `decode(errors="replace")`).
    public func decode(_ tokens: [Int]) throws -> String {
        String(decoding: try decodeBytes(tokens), as: UTF8.self)
    }
}

/// Remembers the tokens of pieces that needed merging, for the length of one encode call (or one
/// chunk of a batch). Prose repeats its words, so most merges are done once.
struct PieceCache {
    private var entries: [UInt64: (bytes: [UInt8], tokens: [Int])] = [:]

    func lookup(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int]) -> Bool {
        guard let e = entries[RankTable.hash(piece.baseAddress!, piece.count)], e.bytes.elementsEqual(piece) else { return false }
        out.append(contentsOf: e.tokens)
        return true
    }

    mutating func store(_ piece: UnsafeBufferPointer<UInt8>, _ tokens: [Int]) {
        if entries.count >= 1 << 16 { entries.removeAll(keepingCapacity: true) } // bound the memory
        entries[RankTable.hash(piece.baseAddress!, piece.count)] = (Array(piece), tokens)
    }
}
