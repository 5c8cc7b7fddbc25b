// The synthetic translation task and the encoder-decoder's batches.

import Foundation
import Tensors
import Testing
import Training

@Suite("Synthetic translation")
struct SyntheticTranslationTests {
    @Test("sentences follow the seed; each word has its translation and adjectives follow their noun")
    func grammar() throws {
        #expect(SyntheticTranslation.pairs(count: 20, maxClauses: 3, seed: 4) == SyntheticTranslation.pairs(count: 20, maxClauses: 3, seed: 4))
        #expect(SyntheticTranslation.pairs(count: 20, maxClauses: 3, seed: 4) != SyntheticTranslation.pairs(count: 20, maxClauses: 3, seed: 5))
        var g = SeededGenerator(seed: 1)
        for clauses in 1...4 {
            let pair = SyntheticTranslation.sentence(clauses: clauses, generator: &g)
            #expect(pair.source.count == pair.target.count, "one word for one word")
            #expect(pair.source.filter { $0 == "and" }.count == clauses - 1)
            #expect((5...7).contains(pair.source.count / clauses) || clauses > 1)
        }
        // The two vocabularies list translations at the same index: map word by word, then move each adjective
        // behind the noun after it.
        let (english, other) = (SyntheticTranslation.sourceVocabulary, SyntheticTranslation.targetVocabulary)
        let adjectives = Set(["red", "small", "old", "quick", "green", "happy", "dark", "tall"])
        for pair in SyntheticTranslation.pairs(count: 50, maxClauses: 3, seed: 2) {
            var words = pair.source, i = 0
            while i < words.count - 1 {
                if adjectives.contains(words[i]) { words.swapAt(i, i + 1); i += 2 } else { i += 1 }
            }
            #expect(words.map { other[english.firstIndex(of: $0)!] } == pair.target, "\(pair.source) → \(pair.target)")
        }
        let source = try WordVocabulary(SyntheticTranslation.sourceVocabulary), target = try WordVocabulary(SyntheticTranslation.targetVocabulary)
        #expect(source.count == target.count && source.words.prefix(3) == ["<pad>", "<s>", "</s>"])
        #expect(throws: DatasetError.self) { try source.encode(["zebra"]) }
        #expect(throws: DatasetError.self) { try WordVocabulary(["a", "a"]) }
    }

    @Test("a batch pads sources with 0, starts the decoder with <s> and ends the targets with </s>, the rest ignored")
    func batch() throws {
        let b = TranslationBatch([(source: [5, 6, 7], target: [8, 9]), (source: [5], target: [8, 9, 10])])
        #expect(b.source == [5, 6, 7, 5, 0, 0] && b.sourceLengths == [3, 1])
        #expect(b.targetInputs == [1, 8, 9, 0, 1, 8, 9, 10])
        #expect(b.targets == [8, 9, 2, -100, 8, 9, 10, 2])
    }
}
