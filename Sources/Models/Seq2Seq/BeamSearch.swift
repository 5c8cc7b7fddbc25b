// Beam search: translating by keeping the `width` most probable partial translations rather than the single most
// probable next word. Greedy decoding commits to each word; a word that looks best now can lead to a worse sentence,
// and a beam keeps the alternatives alive long enough to find out. Width 1 is greedy decoding exactly.
//
// Each step extends every live hypothesis by its `width` best next tokens, keeps the `width` best extensions by
// total log-probability, and sets aside those that end. A finished hypothesis is ranked by its mean log-probability
// per token (the end token included), so that short translations are not preferred merely for having fewer factors.

import Foundation

public enum BeamSearch {
    public struct Hypothesis<State> {
        public var tokens: [Int]
        public var logProbability: Float
        public var state: State
        /// The mean log-probability per token: what finished hypotheses are ranked by.
        public var score: Float { logProbability / Float(tokens.count + 1) }
    }

    /// The best translation found. `step` takes live hypotheses (all with the same number of tokens) and returns, for
    /// each, the log-probabilities of every next token and the state after it; `start` is the state before the
    /// first token. Stops after `maxLength` tokens (the live hypotheses then count as finished).
    public static func decode<State>(start: State, end: Int, width: Int, maxLength: Int,
                                     step: ([Hypothesis<State>]) -> [(logProbabilities: [Float], state: State)]) -> Hypothesis<State> {
        precondition(width >= 1 && maxLength >= 0, "a beam of at least 1 and a length of at least 0")
        var live = [Hypothesis(tokens: [], logProbability: 0, state: start)], finished: [Hypothesis<State>] = []
        while !live.isEmpty && live[0].tokens.count < maxLength && finished.count < width {
            var extensions: [(parent: Int, token: Int, logProbability: Float, state: State)] = []
            for (i, (scores, state)) in step(live).enumerated() {
                // Only a hypothesis's `width` best tokens can be among the `width` best extensions.
                for token in topIndices(scores, count: width) {
                    extensions.append((i, token, live[i].logProbability + scores[token], state))
                }
            }
            extensions.sort { $0.logProbability > $1.logProbability }
            var next: [Hypothesis<State>] = []
            for e in extensions where next.count < width {
                if e.token == end {
                    finished.append(Hypothesis(tokens: live[e.parent].tokens, logProbability: e.logProbability, state: e.state))
                } else {
                    next.append(Hypothesis(tokens: live[e.parent].tokens + [e.token], logProbability: e.logProbability, state: e.state))
                }
            }
            live = next
        }
        return (finished.isEmpty ? live : finished).max { $0.score < $1.score }!
    }

    /// The indices of the `count` largest values, largest first.
    static func topIndices(_ values: [Float], count: Int) -> [Int] {
        if count == 1 { return [values.indices.max { values[$0] < values[$1] }!] }
        return Array(values.indices.sorted { values[$0] > values[$1] }.prefix(count))
    }

    /// log softmax of one row of logits.
    public static func logSoftmax(_ logits: [Float]) -> [Float] {
        let top = logits.max()!, logSum = Float(Foundation.log(logits.reduce(0.0) { $0 + Double(expf($1 - top)) })) + top
        return logits.map { $0 - logSum }
    }
}
