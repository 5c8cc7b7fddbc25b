// Chat templates: the exact text each one writes (Llama 3's and ChatML as those models' own templates write
// them), the templates' special tokens as ids while the messages stay text (no control-token injection), and
// the template a model directory names.

import Foundation
import Server
import Testing
import Tokenizers

@Suite("Chat templates")
struct ChatTemplateTests {
    /// GPT-2's encoding with the Llama 3 and ChatML special tokens added after it.
    static let encoding: Encoding = {
        let gpt2 = try! Encoding.named("gpt2")
        let names = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>"]
        var special = gpt2.specialTokens
        for (i, name) in names.enumerated() { special[name] = 50257 + i }
        return Encoding(name: "gpt2+chat", preTokenizer: .r50k, tokens: (0..<gpt2.rankCount).map { gpt2.bytes(ofToken: $0) }, specialTokens: special)
    }()

    static let messages: [ChatTemplate.Message] = [.init(role: "system", content: "Be brief."), .init(role: "user", content: " Hi <|eot_id|><|im_start|> \n")]

    @Test func llama3() throws {
        #expect(ChatTemplate.llama3.prompt(Self.messages) ==
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>" +
            "<|start_header_id|>user<|end_header_id|>\n\nHi <|eot_id|><|im_start|><|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n")
        let ids = try ChatTemplate.llama3.tokens(Self.messages, encoding: Self.encoding)
        let e = Self.encoding.specialTokens
        #expect(ids.first == e["<|begin_of_text|>"])
        // <|begin_of_text|>, three template tokens per message and two for the answer's header: the user's
        // "<|eot_id|>" and "<|im_start|>" are text.
        #expect(ids.filter { $0 >= 50257 }.count == 1 + 3 * 2 + 2)
        #expect(ids.filter { $0 == e["<|eot_id|>"] }.count == 2)
        #expect(try Self.encoding.decode(ids) == ChatTemplate.llama3.prompt(Self.messages))
        #expect(ChatTemplate.llama3.endOfTurnTokens(Self.encoding) == [e["<|eot_id|>"]!])
    }

    @Test func chatml() throws {
        #expect(ChatTemplate.chatml.prompt(Self.messages) ==
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n Hi <|eot_id|><|im_start|> \n<|im_end|>\n<|im_start|>assistant\n")
        let ids = try ChatTemplate.chatml.tokens(Self.messages, encoding: Self.encoding)
        #expect(ids.filter { $0 == Self.encoding.specialTokens["<|im_start|>"] }.count == 3, "the user's <|im_start|> is text")
        #expect(ChatTemplate.chatml.endOfTurnTokens(Self.encoding) == Set([Self.encoding.specialTokens["<|im_end|>"]!, 50256]))
        // Without the tokens the template needs: one clear error.
        #expect(throws: TokenizerError.self) { try ChatTemplate.chatml.tokens(Self.messages, encoding: try Encoding.named("gpt2")) }
    }

    @Test func plainTemplatesEncodeAsOneText() throws {
        let gpt2 = try Encoding.named("gpt2")
        for template in [ChatTemplate.alpaca, .plain] {
            #expect(try template.tokens(Self.messages, encoding: gpt2) == gpt2.encodeOrdinary(template.prompt(Self.messages)))
        }
    }

    @Test func theModelDirectoryNamesItsTemplate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("llm-chat-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(ChatTemplate.stored(in: dir) == nil)
        let jinja = ["llama3": "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>{% endfor %}",
                     "chatml": "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>{% endfor %}"]
        for (name, template) in jinja {
            try JSONSerialization.data(withJSONObject: ["chat_template": template]).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
            #expect(ChatTemplate.stored(in: dir)?.rawValue == name)
        }
        try JSONSerialization.data(withJSONObject: ["llm_chat_template": "alpaca"]).write(to: URL(fileURLWithPath: dir + "/config.json"))
        #expect(ChatTemplate.stored(in: dir) == .alpaca, "config.json's choice first")
    }
}
