// Scoring instruction answers with another model (the book's chapter 7 uses Llama 3 through Ollama):
// one request per answer to any OpenAI-compatible chat-completions endpoint, with the book's prompt,
// and the first integer of the reply taken as the 0–100 score.

import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Training

struct Judge {
    let endpoint: URL
    let model: String

    /// `url` is the API base (http://localhost:11434/v1) or the full chat-completions address.
    init(url: String, model: String) throws {
        guard var u = URL(string: url), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https", u.host != nil else {
            throw ValidationError("--judge-url \(url): not an http:// or https:// address")
        }
        if !u.path.hasSuffix("/chat/completions") { u = u.appendingPathComponent("chat/completions") }
        endpoint = u
        self.model = model
    }

    /// The book's scoring prompt.
    static func prompt(_ example: InstructionExample, response: String) -> String {
        "Given the input `\(example.prompt)` and correct output `\(example.output)`, score the model response `\(response)` "
            + "on a scale from 0 to 100, where 100 is the best score. Respond with the integer number only."
    }

    /// The first whole number in `reply`, if it is between 0 and 100.
    static func parseScore(_ reply: String) -> Int? {
        let digits = reply.drop { !$0.isNumber }.prefix { $0.isNumber }
        guard let n = Int(digits), (0...100).contains(n) else { return nil }
        return n
    }

    func score(_ example: InstructionExample, response: String) throws -> Int {
        var request = URLRequest(url: endpoint, timeoutInterval: 300)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: [
            "model": model, "temperature": 0, "seed": 123,
            "messages": [["role": "user", "content": Judge.prompt(example, response: response)]],
        ] as [String: Any])
        let (data, status) = try Judge.send(request)
        guard status == 200 else {
            throw CommandError("judge \(endpoint): HTTP \(status): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let choices = object["choices"] as? [[String: Any]], let message = choices.first?["message"] as? [String: Any],
              let content = message["content"] as? String else {
            throw CommandError("judge \(endpoint): the reply is not a chat completion")
        }
        guard let score = Judge.parseScore(content) else {
            throw CommandError("judge \(endpoint): no score between 0 and 100 in the reply \"\(content.prefix(80))\"")
        }
        return score
    }

    /// Sends a request and waits for the answer (the command line has nothing else to do meanwhile).
    static func send(_ request: URLRequest) throws -> (Data, Int) {
        final class Outcome: @unchecked Sendable { var value: Result<(Data, Int), Error>? } // written once, before signal()
        let outcome = Outcome(), done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error {
                outcome.value = .failure(CommandError("judge \(request.url!): \(error.localizedDescription)"))
            } else {
                outcome.value = .success((data ?? Data(), (response as? HTTPURLResponse)?.statusCode ?? 0))
            }
            done.signal()
        }.resume()
        done.wait()
        return try outcome.value!.get()
    }
}
