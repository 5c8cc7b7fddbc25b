// How chat messages become one prompt for a model that only continues text.
//   alpaca  the book's chapter 7 format, which `llm finetune instruct` trains on: the task description,
//           "### Instruction:" with the user's message (a system message goes before it), and
//           "### Response:" to answer under; earlier turns are kept as instruction/response pairs.
//   plain   a transcript for a base model: "System: …", "User: …", "Assistant: …" lines, ending in
//           "Assistant:"; it stops where the model starts the next "User:" line.
//   llama3  Llama 3's header tokens: <|begin_of_text|>, then per message
//           <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>, ending with the assistant's header;
//           the answer ends with <|eot_id|>.
//   chatml  Qwen's ChatML: <|im_start|>ROLE\nCONTENT<|im_end|>\n per message, ending with
//           <|im_start|>assistant\n; the answer ends with <|im_end|>.
// The templates' own special tokens become their ids; the messages' text is always encoded as text, so a
// message cannot smuggle in a control token (a user typing "<|im_start|>system" gets those characters).
// A model directory names its template in config.json ("llm_chat_template"), or in tokenizer_config.json's
// Jinja "chat_template", recognised by the tokens it writes; --chat-template overrides.

import Foundation
import Tokenizers

public enum ChatTemplate: String, CaseIterable, Sendable {
    case alpaca, plain, llama3, chatml

    public struct Message: Sendable {
        public let role: String, content: String
        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// A piece of the prompt: text, or one of the template's special tokens.
    enum Segment: Equatable {
        case text(String), special(String)
    }

    func segments(_ messages: [Message]) -> [Segment] {
        func role(_ m: Message) -> String { m.role == "developer" ? "system" : m.role }
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
            return [.text(text + "\n\n### Response:\n")]
        case .plain:
            let lines = messages.map { m -> String in
                let who = m.role == "assistant" ? "Assistant" : m.role == "system" || m.role == "developer" ? "System" : "User"
                return "\(who): \(m.content)"
            }
            return [.text(lines.joined(separator: "\n") + "\nAssistant:")]
        case .llama3:
            // As Llama 3's own template: each content trimmed of surrounding whitespace.
            var out: [Segment] = [.special("<|begin_of_text|>")]
            for m in messages {
                out += [.special("<|start_header_id|>"), .text(role(m)), .special("<|end_header_id|>"),
                        .text("\n\n" + m.content.trimmingCharacters(in: .whitespacesAndNewlines)), .special("<|eot_id|>")]
            }
            return out + [.special("<|start_header_id|>"), .text("assistant"), .special("<|end_header_id|>"), .text("\n\n")]
        case .chatml:
            var out: [Segment] = []
            for m in messages {
                out += [.special("<|im_start|>"), .text(role(m) + "\n" + m.content), .special("<|im_end|>"), .text("\n")]
            }
            return out + [.special("<|im_start|>"), .text("assistant\n")]
        }
    }

    /// The prompt as text (special tokens spelled out).
    public func prompt(_ messages: [Message]) -> String {
        segments(messages).map { segment in
            switch segment {
            case .text(let t), .special(let t): t
            }
        }.joined()
    }

    /// The prompt's token ids: the template's special tokens as their ids, all text (the messages too) as text.
    public func tokens(_ messages: [Message], encoding: Encoding) throws -> [Int] {
        var ids: [Int] = [], pending = ""
        for segment in segments(messages) {
            switch segment {
            case .text(let t): pending += t // adjacent text is encoded together, as one string would be
            case .special(let name):
                guard let id = encoding.specialTokens[name] else {
                    throw TokenizerError.invalidArgument("the \(rawValue) chat template needs the special token \(name), which this tokenizer does not have")
                }
                ids += encoding.encodeOrdinary(pending) + [id]
                pending = ""
            }
        }
        return ids + encoding.encodeOrdinary(pending)
    }

    /// Where an answer ends besides the model's end-of-text tokens: the start of the next turn.
    public var stopStrings: [String] {
        switch self {
        case .alpaca: ["\n\n### Instruction:", "\n### Instruction:"]
        case .plain: ["\nUser:"]
        case .llama3, .chatml: []
        }
    }

    /// The tokens that end an answer in this template, as ids of `encoding`.
    public func endOfTurnTokens(_ encoding: Encoding) -> Set<Int> {
        switch self {
        case .alpaca, .plain: []
        case .llama3: Set(["<|eot_id|>", "<|end_of_text|>"].compactMap { encoding.specialTokens[$0] })
        case .chatml: Set(["<|im_end|>", "<|endoftext|>"].compactMap { encoding.specialTokens[$0] })
        }
    }

    /// Records this template in a model directory's config.json (`llm finetune instruct` stores alpaca).
    public func store(in directory: String) throws {
        let url = URL(fileURLWithPath: (directory as NSString).appendingPathComponent("config.json"))
        guard var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else { return }
        object["llm_chat_template"] = rawValue
        try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]).write(to: url, options: .atomic)
    }

    /// The template a model directory names (config.json "llm_chat_template"), or the one its
    /// tokenizer_config.json's Jinja "chat_template" writes (recognised by its tokens), if any.
    public static func stored(in directory: String) -> ChatTemplate? {
        func object(_ file: String) -> [String: Any]? {
            FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(file))
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        }
        if let name = object("config.json")?["llm_chat_template"] as? String { return ChatTemplate(rawValue: name) }
        guard let jinja = object("tokenizer_config.json")?["chat_template"] as? String else { return nil }
        if jinja.contains("<|start_header_id|>") { return .llama3 }
        if jinja.contains("<|im_start|>") { return .chatml }
        return nil
    }
}
