// Training a WordPiece vocabulary (BERT's), the way Hugging Face's WordPieceTrainer does it: byte-pair merges over
// characters, where every character but a word's first carries the "##" continuation prefix, so the pieces learnt
// are word starts ("play") and continuations ("##ing"). The merges themselves are thrown away: WordPiece encodes
// by greedy longest match over the vocabulary (WordPiece.swift), not by replaying merges.
//
// Words are those BERT's tokenizer sees (BertNormalizer: clean-up, CJK split, lower-casing and accent stripping
// when uncased, whitespace and punctuation split). The vocabulary is the special tokens, then the alphabet (the
// `alphabetLimit` most frequent characters, as word starts and as continuations, in code point order), then one
// token per merge in the order learnt; a merge that spells a token already there ("a"+"##bc" after "ab"+"##c")
// adds nothing. Ties between equally frequent pairs go to the smaller ids, so a run is deterministic
// (`tokenizers` numbers continuation characters in hash-map order, so its ids cannot be reproduced exactly).

public enum WordPieceTrainer {
    public static let bertSpecialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// A tokenizer with at most `vocabularySize` tokens (fewer when the texts run out of pairs); `progress(done, total)`
    /// is called as tokens are added.
    public static func train(texts: [String], vocabularySize: Int, normalizer: BertNormalizer = BertNormalizer(),
                             specialTokens: [String] = bertSpecialTokens, alphabetLimit: Int = 1000,
                             progress: (Int, Int) -> Void = { _, _ in }) throws -> WordPieceTokenizer {
        // Words with their counts.
        var wordCounts: [[Unicode.Scalar]: Int] = [:]
        for text in texts {
            for word in BertNormalizer.words(normalizer.normalize(text)) {
                let scalars = Array(word.unicodeScalars)
                if scalars.count <= 100 { wordCounts[scalars, default: 0] += 1 } // longer words are [UNK] whatever the vocabulary
            }
        }
        // The alphabet: the most frequent characters (ties: the smaller code point), in code point order.
        var characterCounts: [Unicode.Scalar: Int] = [:]
        for (word, count) in wordCounts { for c in word { characterCounts[c, default: 0] += count } }
        let alphabet = characterCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key.value < $1.key.value }
            .prefix(alphabetLimit).map(\.key).sorted { $0.value < $1.value }
        let kept = Set(alphabet)

        var vocabulary: [String] = []
        var index: [[UInt8]: Int32] = [:] // by bytes: String equality is canonical equivalence
        func add(_ token: String) -> Int32 {
            if let id = index[Array(token.utf8)] { return id }
            vocabulary.append(token)
            index[Array(token.utf8)] = Int32(vocabulary.count - 1)
            return Int32(vocabulary.count - 1)
        }
        for token in specialTokens { _ = add(token) }
        for c in alphabet { _ = add(String(c)) }
        for c in alphabet { _ = add("##" + String(c)) }

        // Words as symbol sequences, in a fixed order (sorted by their scalars) so the run does not depend on hashing.
        let words = wordCounts.keys.filter { $0.allSatisfy(kept.contains) }
            .sorted { $0.lexicographicallyPrecedes($1) { $0.value < $1.value } }
        let sequences = words.map { word in word.enumerated().map { i, c in index[Array(((i == 0 ? "" : "##") + String(c)).utf8)]! } }
        // Each merge makes a new symbol; several symbols may spell one token, so symbols map to token ids.
        var symbolToken = Array(0..<Int32(vocabulary.count))
        let startSize = vocabulary.count
        if vocabulary.count < vocabularySize {
            learnMerges(words: sequences, counts: words.map { wordCounts[$0]! }, firstNewSymbol: Int32(symbolToken.count)) { a, b in
                let left = vocabulary[Int(symbolToken[Int(a)])], right = vocabulary[Int(symbolToken[Int(b)])]
                symbolToken.append(add(left + (right.hasPrefix("##") ? String(right.dropFirst(2)) : right)))
                progress(vocabulary.count - startSize, max(vocabularySize - startSize, 1))
                return vocabulary.count < vocabularySize
            }
        }
        return try WordPieceTokenizer(vocabulary: vocabulary, normalizer: normalizer, specialTokens: specialTokens)
    }
}
