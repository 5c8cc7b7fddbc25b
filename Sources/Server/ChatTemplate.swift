// How chat messages become one prompt for a model that only continues text.
//   alpaca  the book's chapter 7 format, which `llm finetune instruct` trains on: the task description,
//           "### Instruction:" with the user's message (a system message goes before it), and
//           "### Response:" to answer under; earlier turns are kept as instruction/response pairs.
//   plain   a transcript for a base model: "System: …", "User: …", "Assistant: …" lines, ending in
//           "Assistant:"; it stops where the model starts the next "User:" line.
// A model directory names its template in config.json ("llm_chat_template"); --chat-template overrides.

import Foundation

public enum ChatTemplate: String, CaseIterable, Sendable {
    case alpaca, plain

    struct Message {
        let role: String, content: String
    }

    func prompt(_ messages: [Message]) -> String {
        switch self {
        case .alpaca:
            var text = "Below is an instruction that describes a task. Write a response that appropriately completes the request."
            var pendingSystem = ""
            for m in messages {
                switch m.role {
                case "system", "developer": pendingSystem += m.content + "\n\n"
                case "assistant": text += "\n\n### Response:\n" + m.content
                default:
                    text += "\n\n### Instruction:\n" + pendingSystem + m.content
                    pendingSystem = ""
                }
            }
            return text + "\n\n### Response:\n"
        case .plain:
            let lines = messages.map { m -> String in
                let who = m.role == "assistant" ? "Assistant" : m.role == "system" || m.role == "developer" ? "System" : "User"
                return "\(who): \(m.content)"
            }
            return lines.joined(separator: "\n") + "\nAssistant:"
        }
    }

    /// Where an answer ends besides <|endoftext|>: the start of the next turn.
    var stopStrings: [String] {
        switch self {
        case .alpaca: ["\n\n### Instruction:", "\n### Instruction:"]
        case .plain: ["\nUser:"]
        }
    }

    /// Records this template in a model directory's config.json (`llm finetune instruct` stores alpaca).
    public func store(in directory: String) throws {
        let url = URL(fileURLWithPath: (directory as NSString).appendingPathComponent("config.json"))
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else { return }
        object["llm_chat_template"] = rawValue
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url, options: .atomic)
    }

    /// The template a model directory names (config.json "llm_chat_template"), if any.
    public static func stored(in directory: String) -> ChatTemplate? {
        let path = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let name = object["llm_chat_template"] as? String else { return nil }
        return ChatTemplate(rawValue: name)
    }
}
