// A sentence-transformers model directory as it is published (modules.json: a Transformer, a Pooling and
// optionally a Normalize module; sentence_bert_config.json's max_seq_length; 1_Pooling/config.json's mode) on a
// BERT encoder: texts in, one vector each out. Texts are batched by length so little padding is computed.

import Foundation
import Models
import Tensors
import Tokenizers

public struct SentenceTransformer {
    public let encoder: BERTModel
    public let tokenizer: WordPieceTokenizer
    public let pooling: SentencePooling
    public let normalize: Bool
    public let maxSequenceLength: Int
    public var dimension: Int { encoder.config.hiddenSize }

    public init(directory: String) throws {
        func fail(_ m: String) -> GPTError { GPTError(description: "\(directory): \(m)") }
        func json(_ name: String) -> [String: Any]? {
            FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name))
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
        }
        encoder = try BERTCheckpoint.load(directory)
        guard let tokenizer = try WordPieceTokenizer.load(modelDirectory: directory) else {
            throw fail("no WordPiece tokenizer (tokenizer.json or vocab.txt)")
        }
        self.tokenizer = tokenizer
        let modules = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent("modules.json"))
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [[String: Any]] } ?? []
        let types = modules.compactMap { $0["type"] as? String }
        normalize = types.contains { $0.hasSuffix("Normalize") }
        let poolingPath = modules.first { ($0["type"] as? String)?.hasSuffix("Pooling") == true }?["path"] as? String ?? "1_Pooling"
        let p = json(poolingPath + "/config.json") ?? [:]
        if p["pooling_mode_cls_token"] as? Bool == true { pooling = .cls }
        else if p["pooling_mode_max_tokens"] as? Bool == true { pooling = .max }
        else if p["pooling_mode_lasttoken"] as? Bool == true { pooling = .lastToken }
        else if p.isEmpty || p["pooling_mode_mean_tokens"] as? Bool == true { pooling = .mean }
        else { throw fail("\(poolingPath)/config.json: a pooling mode this reader does not know (mean, cls, max and lasttoken are)") }
        maxSequenceLength = min(json("sentence_bert_config.json")?["max_seq_length"] as? Int ?? encoder.config.maxPositions,
                                encoder.config.maxPositions)
    }

    /// Who made a vector, as an index records it: the directory's name and path, the vector's shape and pooling, and a
    /// fingerprint of the files that decide the vectors (config.json, the vocabulary, and the weights' size and first
    /// megabyte), so an index is not searched with another model's vectors.
    public func identity(directory: String) -> [String: Any] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: Data) { h = fnv1a64(bytes, from: h) }
        for name in ["config.json", "modules.json", "1_Pooling/config.json", "vocab.txt", "tokenizer.json"] {
            if let d = FileManager.default.contents(atPath: (directory as NSString).appendingPathComponent(name)) { mix(Data(name.utf8)); mix(d) }
        }
        let weights = (directory as NSString).appendingPathComponent("model.safetensors")
        if let handle = FileHandle(forReadingAtPath: weights) {
            mix(Data("\((try? FileManager.default.attributesOfItem(atPath: weights)[.size] as? Int) ?? 0)".utf8))
            mix((try? handle.read(upToCount: 1 << 20)) ?? Data())
            try? handle.close()
        }
        return ["name": URL(fileURLWithPath: directory).lastPathComponent, "path": URL(fileURLWithPath: directory).standardizedFileURL.path,
                "dimension": dimension, "pooling": "\(pooling)", "normalize": normalize, "max_seq_length": maxSequenceLength,
                "fingerprint": String(h, radix: 16)]
    }

    /// The number of tokens of `text` without [CLS] and [SEP] (what a chunk of the text costs).
    public func tokenCount(_ text: String) -> Int { tokenizer.encode(text).ids.count - 2 }

    /// Token ids of each text as the model reads it ([CLS] … [SEP], cut to max_seq_length).
    public func tokens(_ text: String) -> [Int] { tokenizer.encode(text, maxLength: maxSequenceLength).ids }

    /// One vector per text, in the order given; `progress(done)` after each batch.
    public func embed(_ texts: [String], batchSize: Int = 32, progress: (Int) -> Void = { _ in }) -> [[Float]] {
        embed(ids: texts.map(tokens), batchSize: batchSize, progress: progress)
    }

    /// `embed` on texts already tokenized as `tokens` does ([CLS] … [SEP], at most `maxSequenceLength` each).
    public func embed(ids: [[Int]], batchSize: Int = 32, progress: (Int) -> Void = { _ in }) -> [[Float]] {
        var out = [[Float]](repeating: [], count: ids.count), done = 0
        // Longest first, so each batch pads to the length of its own first row.
        let order = ids.indices.sorted { ids[$0].count > ids[$1].count }
        for start in stride(from: 0, to: order.count, by: batchSize) {
            let rows = Array(order[start..<min(start + batchSize, order.count)])
            let t = ids[rows[0]].count
            var flat: [Int] = [], mask: [Int] = []
            for r in rows {
                let pad = t - ids[r].count
                flat += ids[r] + [Int](repeating: tokenizer.padding, count: pad)
                mask += [Int](repeating: 1, count: ids[r].count) + [Int](repeating: 0, count: pad)
            }
            let hidden = Autograd.withNoGrad { encoder(flat, attentionMask: mask, batch: rows.count).hidden.scalars }
            for (r, v) in zip(rows, pooling.pool(hidden, mask: mask, batch: rows.count, width: dimension, normalize: normalize)) { out[r] = v }
            done += rows.count
            progress(done)
        }
        return out
    }
}
