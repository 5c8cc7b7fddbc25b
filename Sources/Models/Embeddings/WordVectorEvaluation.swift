// The two standard ways word vectors are scored, counted as gensim's `evaluate_word_analogies` and
// `evaluate_word_pairs` count them:
//   analogies (questions-words.txt: ": section" lines, then "a b c d" lines): does b − a + c land nearest
//     to d (3CosAdd over the first 300,000 words, the question words left out)? Accuracy per section and
//     in total; a question with a word outside those 300,000 is skipped and counted as out of vocabulary.
//   word pairs (WordSim-353 and the like: "a<TAB>b<TAB>score", "#" comments): Spearman's ρ (and Pearson's r)
//     between the human scores and the cosine similarities; pairs with an unknown word are skipped.
// Both compare words case-insensitively (upper-cased), the most frequent spelling standing for the others.

import Foundation

public struct AnalogySection: Sendable, Equatable {
    public let name: String
    public var correct = 0, incorrect = 0
    public var accuracy: Double { correct + incorrect == 0 ? 0 : Double(correct) / Double(correct + incorrect) }
}

public struct AnalogyResult: Sendable {
    public var sections: [AnalogySection] = []
    public var outOfVocabulary = 0, questions = 0
    public var total: AnalogySection {
        AnalogySection(name: "Total accuracy", correct: sections.reduce(0) { $0 + $1.correct },
                       incorrect: sections.reduce(0) { $0 + $1.incorrect })
    }
}

public struct WordPairResult: Sendable {
    public let spearman: Double, pearson: Double
    public let pairs: Int, outOfVocabulary: Int
}

extension WordVectors {
    /// Upper-cased word → index over the first `restrictTo` words, the most frequent spelling winning.
    func caseInsensitiveVocabulary(restrictTo: Int) -> [String: Int] {
        var vocabulary: [String: Int] = [:]
        for i in (0..<min(restrictTo, words.count)).reversed() { vocabulary[words[i].uppercased()] = i }
        return vocabulary
    }

    public func evaluateAnalogies(_ text: String, name: String = "analogies", restrictTo: Int = 300_000) throws -> AnalogyResult {
        let vocabulary = caseInsensitiveVocabulary(restrictTo: restrictTo)
        var result = AnalogyResult(), section: AnalogySection? = nil
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix(": ") {
                if let s = section { result.sections.append(s) }
                section = AnalogySection(name: String(line.drop { $0 == ":" || $0 == " " }).trimmingCharacters(in: .whitespacesAndNewlines))
                continue
            }
            let fields = line.split(whereSeparator: \.isWhitespace).map { $0.uppercased() }
            if section == nil {
                if fields.isEmpty { continue }
                throw Word2VecError("\(name):\(number + 1): a question before any \": section\" line")
            }
            guard fields.count == 4 else { continue } // gensim skips malformed lines
            result.questions += 1
            let ids = fields.map { vocabulary[$0] }
            guard let a = ids[0], let b = ids[1], let c = ids[2], ids[3] != nil else {
                result.outOfVocabulary += 1
                continue
            }
            let ignore = Set(fields[0..<3])
            var predicted: String? = nil
            for candidate in analogy(a, b, c, count: 5, restrictTo: restrictTo) {
                predicted = candidate.word.uppercased()
                if vocabulary[predicted!] != nil && !ignore.contains(predicted!) { break }
            }
            if predicted == fields[3] { section!.correct += 1 } else { section!.incorrect += 1 }
        }
        if let s = section { result.sections.append(s) }
        return result
    }

    public func evaluateWordPairs(_ text: String, name: String = "pairs", restrictTo: Int = 300_000) throws -> WordPairResult {
        let vocabulary = caseInsensitiveVocabulary(restrictTo: restrictTo)
        var gold: [Double] = [], model: [Double] = [], unknown = 0
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, let score = Double(fields[2].trimmingCharacters(in: .whitespacesAndNewlines)) else { continue }
            guard let a = vocabulary[fields[0].uppercased()], let b = vocabulary[fields[1].uppercased()] else {
                unknown += 1
                continue
            }
            gold.append(score)
            model.append(Double(similarity(a, b)))
        }
        guard gold.count >= 2 else {
            throw Word2VecError("\(name): no word pair with both words in the vocabulary (\(unknown) pairs with unknown words)")
        }
        return WordPairResult(spearman: Statistics.spearman(gold, model), pearson: Statistics.pearson(gold, model),
                              pairs: gold.count, outOfVocabulary: unknown)
    }
}

public enum Statistics {
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        let n = Double(x.count), mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) { sxy += (a - mx) * (b - my); sxx += (a - mx) * (a - mx); syy += (b - my) * (b - my) }
        return sxx == 0 || syy == 0 ? .nan : sxy / (sxx * syy).squareRoot()
    }

    /// Ranks from 1, ties sharing the mean of their ranks (scipy's rankdata "average").
    public static func ranks(_ x: [Double]) -> [Double] {
        let order = x.indices.sorted { x[$0] < x[$1] }
        var ranks = [Double](repeating: 0, count: x.count), i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && x[order[j + 1]] == x[order[i]] { j += 1 }
            for k in i...j { ranks[order[k]] = Double(i + j) / 2 + 1 }
            i = j + 1
        }
        return ranks
    }

    /// Spearman's ρ: Pearson's r of the ranks.
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double { pearson(ranks(x), ranks(y)) }
}
