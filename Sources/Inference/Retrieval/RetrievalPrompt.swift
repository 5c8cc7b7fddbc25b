// Retrieval-augmented generation's prompt: the question, and before it the retrieved chunks as numbered sources the
// answer is asked to cite. This text is the user's message; the chat template of the model wraps it. Nothing else
// is hidden in it, so a learner can read exactly what the model was given (`llm ask --json` prints it).

public enum RetrievalPrompt {
    /// The user's message for `question` over `sources` (their texts, best first), numbered from 1.
    public static func message(question: String, sources: [String]) -> String {
        var text = "Answer the question using the sources below. Cite the sources you use by their numbers, like [1]. "
            + "If the sources do not contain the answer, say so.\n\n"
        for (i, source) in sources.enumerated() {
            text += "[\(i + 1)] " + source.split(whereSeparator: \.isNewline).joined(separator: " ") + "\n\n"
        }
        return text + "Question: " + question
    }
}
