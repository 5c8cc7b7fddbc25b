// The fuzz targets: each feeds one input (bytes chosen by libFuzzer) to one reader of outside input,
// exactly as the commands call it. A reader may throw (that is the right answer to a bad file); it may
// not crash, hang or allocate without bound. Readers that take paths get the bytes through a file.
//
// Inputs made of several files (encoder.json + vocab.bpe, an adapter's config + weights, a .tiktoken
// file + its sidecar) are split at the first NUL byte (`halves`).

import Formats
import Foundation
import FuzzSupport
import Inference
import Models
import Tensors
import Tokenizers
import Training

/// A tiny model for the adapter target (built once).
let tinyModel: GPTModel = try! GPTModel(GPTConfig(vocabSize: 64, contextLength: 8, embeddingSize: 8, layers: 1, heads: 2, dropout: 0))

/// A copy of the tiny BERT fixture in the scratch directory, for the sentence-transformer target (made once).
let sentenceTransformerDirectory: String = {
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Tests/Fixtures/tiny-bert").path
    let dir = scratch + "/st"
    try? FileManager.default.createDirectory(atPath: dir + "/1_Pooling", withIntermediateDirectories: true)
    for name in ["config.json", "model.safetensors", "vocab.txt"] {
        try? FileManager.default.copyItem(atPath: fixture + "/" + name, toPath: dir + "/" + name)
    }
    return dir
}()

let targets: [String: (Data) -> Void] = [
    "safetensors": { data in
        guard let file = try? Safetensors.parse(data, path: "fuzz.safetensors") else { return }
        for name in file.entries.keys { _ = try? file.tensor(name) }
    },
    "config": { data in
        let dir = scratch + "/model"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = file("model/config.json", data)
        guard let config = try? Checkpoint.readConfig(dir), (try? MemoryCheck.weights(config)) != nil else { return }
        // Small enough to build: a configuration that validates must make a model that runs (GPT-2 or Llama family).
        guard config.parameterCount < 300_000, config.contextLength <= 64, config.layers <= 4, config.heads <= 64 else { return }
        if let model = try? GPTModel(config) {
            model.eval()
            _ = Autograd.withNoGrad { model([0, min(1, config.vocabSize - 1)], batch: 1) }
            if let fast = try? InferenceModel(model) {
                _ = fast.forward(tokens: [0], slots: [0], positions: [0], cache: KVSlots(slots: 1, config: config), logitsFor: [0])
            }
        }
    },
    "tiktoken": { data in
        guard let ranks = try? EncodingFiles.parseTiktoken([UInt8](data), path: "fuzz.tiktoken") else { return }
        _ = try? EncodingFiles.mergeLines(ranks)
    },
    "tiktoken-sidecar": { data in
        let (ranks, sidecar) = halves(data)
        let path = file("fuzz.tiktoken", ranks)
        _ = file("fuzz.tiktoken.json", sidecar)
        if let encoding = try? Encoding.load(nameOrPath: path) { _ = encoding.encodeOrdinary("Hello, world! 123") }
    },
    "tokenizer-json": { data in
        let path = file("tokenizer.json", data)
        if let encoding = try? Encoding.gpt2(tokenizerJSON: path) { _ = encoding.encodeOrdinary("Hello, world!") }
        if let encoding = try? Encoding.huggingFace(tokenizerJSON: path) {
            _ = try? encoding.encode("Hello <|im_start|>, wörld 12345!<|eot_id|>", allowedSpecial: .all)
        }
    },
    "encoder-vocab": { data in
        let (encoder, vocab) = halves(data)
        guard let text = String(data: vocab, encoding: .utf8) else { return }
        _ = try? EncodingFiles.parseDataGym(encoderJSON: encoder, vocabBPE: text, encoderPath: "encoder.json", vocabPath: "vocab.bpe")
    },
    "token-file": { data in
        if let (store, _) = try? TokenFile.open(file("fuzz.tokens", data)), store.count > 0 { _ = store.subrange(0..<min(store.count, 16)) }
    },
    "csv": { data in
        _ = try? LabeledTextFile.read(file("fuzz.csv", data))
        _ = try? LabeledTextFile.read(file("fuzz.tsv", data), labelColumn: .name("label"), textColumn: .name("text"))
    },
    "instructions": { data in
        _ = try? InstructionFile.read(file("fuzz.json", data))
    },
    "adapter": { data in
        let (config, weights) = halves(data)
        let dir = scratch + "/adapter"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        _ = file("adapter/" + LoRAAdapter.configFile, config)
        _ = file("adapter/" + LoRAAdapter.weightsFile, weights)
        let model = try! Initialization.withoutRandomValues { try GPTModel(tinyModel.config) }
        _ = try? LoRAAdapter.load(dir, into: model)
    },
    "gguf": { data in
        guard (try? GGUF.parse(data, path: "fuzz.gguf")) != nil else { return }
        _ = try? InferenceModel.load(gguf: file("fuzz.gguf", data))
    },
    // A TensorFlow checkpoint (OpenAI's GPT-2 format): a little-endian u32 length, that many bytes of
    // model.ckpt.index, the rest model.ckpt.data-00000-of-00001 (binary files, so no NUL split).
    "tensorflow": { data in
        let bytes = [UInt8](data)
        guard bytes.count >= 4 else { return }
        let length = min(Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24, bytes.count - 4)
        _ = file("model.ckpt.index", bytes[4..<(4 + length)])
        _ = file("model.ckpt.data-00000-of-00001", bytes[(4 + length)...])
        _ = try? TensorFlowCheckpoint.read(prefix: scratch + "/model.ckpt")
    },
    "wordpiece-vocab": { data in
        // A BERT vocab.txt, then a text through it.
        guard let tokenizer = try? WordPieceTokenizer(vocabTxt: file("vocab.txt", data)) else { return }
        _ = tokenizer.encode("Héllo, [MASK] wörld 北京 unaffable!", pair: "a second text", maxLength: 16)
    },
    "wordpiece-json": { data in
        guard let tokenizer = try? WordPieceTokenizer(tokenizerJSON: file("tokenizer.json", data)) else { return }
        _ = try? tokenizer.decode(tokenizer.encode("Héllo, [MASK] wörld 北京 unaffable!").ids)
    },
    "vector-index": { data in
        // An index file (llm index), then what search and add do with it.
        // The checksum would stop almost every mutation at the door: half the inputs get a correct one, so the mutated
        // header, manifest and graph reach the parser behind it.
        var data = data
        if data.count > 48, data.last! & 1 == 1 {
            let hash = VectorIndex.checksum(data.prefix(data.count - 8))
            data.replaceSubrange((data.count - 8)..<data.count, with: withUnsafeBytes(of: hash.littleEndian) { Data($0) })
        }
        guard let index = try? VectorIndex(contentsOf: file("fuzz.index", data)), index.dimension <= 4096 else { return }
        _ = index.search([[Float](repeating: 1, count: index.dimension)], topK: 3)
        _ = index.search([[Float](repeating: 1, count: index.dimension)], topK: 3, ef: 8) // through the graph, when there is one
        index.add([IndexedChunk(id: "new", source: "fuzz", start: 0, end: 1, text: "x")], vectors: [[Float](repeating: 0.5, count: index.dimension)])
        try? index.write(to: scratch + "/rewritten.index")
    },
    "sentence-transformer": { data in
        // A sentence-transformers directory's own files (modules.json, 1_Pooling/config.json, sentence_bert_config.json,
        // split at NUL bytes) around a real tiny BERT, then a text through the embedder.
        let (modules, rest) = halves(data), (pooling, sbert) = halves(rest)
        let dir = sentenceTransformerDirectory
        for (name, bytes) in [("modules.json", modules), ("1_Pooling/config.json", pooling), ("sentence_bert_config.json", sbert)] {
            _ = file("st/" + name, bytes)
        }
        guard let embedder = try? SentenceTransformer(directory: dir) else { return }
        _ = embedder.embed(["Héllo wörld, a sentence to embed."])
    },
    "word2vec": { data in
        // A vectors file, text or binary (the reader tells them apart), then what `llm word2vec similar` does with it.
        guard let vectors = try? Word2VecFormat.read([UInt8](data), name: "fuzz.txt"), !vectors.words.isEmpty else { return }
        _ = vectors.mostSimilar(positive: [0], count: 3)
        _ = Word2VecFormat.encode(vectors, layout: .binary)
    },
]
