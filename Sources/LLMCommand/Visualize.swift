// `llm attention` and `llm embeddings`: pictures of what a model has learned. Attention draws one
// heat map per head (row: a token, column: the tokens it attends to; a GPT's rows stop at the diagonal, a BERT's
// cover the whole text); embeddings projects token
// vectors to two dimensions with PCA, the word2vec-style picture of chapter 2.

import ArgumentParser
import Formats
import Foundation
import Inference
import Models
import Tensors
import Tokenizers

/// --model if given; else the demo's checkpoint if `llm demo` has written one here; else a freshly
/// initialised small model (its pictures show an untrained network, which the command says).
func modelForPictures(_ path: String?) throws -> (GPTModel, Encoding, String) {
    if let path { let (m, e) = try ModelOptions(model: try ModelOptions.resolve(path)).load(); return (m, e, path) }
    if FileManager.default.fileExists(atPath: "llm-demo-output/config.json") {
        let (m, e) = try ModelOptions(model: "llm-demo-output").load()
        return (m, e, "llm-demo-output")
    }
    printError("note: no --model and no llm-demo-output/ here; using an untrained model (run `llm demo` first for a trained one)")
    return (try GPTModel(GPTConfig.preset("tiny"), seed: 1), try Encoding.named("gpt2"), "untrained tiny model")
}

extension ModelOptions {
    /// Options for `model` alone. Every property is set: a property wrapper left undecoded traps when read.
    init(model: String) {
        self.init()
        self.model = model
        self.adapter = nil
    }
}

struct Attention: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Draw a model's attention weights over a text, one heat map per head.")

    @Option(help: "Text to look at.") var text: String
    @Option(help: "Model directory (default: llm-demo-output if present).") var model: String?
    @Option(help: "Transformer block to show (0 is the first).") var layer = 0
    @Option(help: "SVG file to write.") var output = "attention.svg"

    func run() throws {
        if let model, case let directory = try ModelOptions.resolve(model), BERTCheckpoint.isBERT(directory) { return try runEncoder(directory) }
        let (gpt, encoding, name) = try modelForPictures(model)
        guard layer >= 0 && layer < gpt.config.layers else {
            throw CommandError("--layer \(layer) is outside 0..<\(gpt.config.layers) for \(name)")
        }
        let ids = try encoding.encode(text, allowedSpecial: .all)
        guard !ids.isEmpty else { throw CommandError("--text is empty") }
        guard ids.count <= min(gpt.config.contextLength, 64) else {
            throw CommandError("--text has \(ids.count) tokens; heat maps are drawn for at most \(min(gpt.config.contextLength, 64))")
        }
        let labels = try ids.map { try encoding.decode([$0]) }
        try draw(gpt.attentionWeights(ids, layer: layer), labels: labels, title: "\(name): attention of block \(layer)")
    }

    /// A BERT's attention: [CLS] text [SEP] in its WordPiece tokens, every row spread over the whole text.
    func runEncoder(_ directory: String) throws {
        let bert = try BERTCheckpoint.load(directory)
        guard let wordPiece = try WordPieceTokenizer.load(modelDirectory: directory) else {
            throw CommandError("\(directory): a BERT without vocab.txt or a WordPiece tokenizer.json")
        }
        guard layer >= 0 && layer < bert.layers.count else { throw CommandError("--layer \(layer) is outside 0..<\(bert.layers.count) for \(directory)") }
        let ids = wordPiece.encode(text, pair: nil).ids // [CLS] text [SEP]
        guard ids.count > 2 else { throw CommandError("--text is empty") }
        let limit = min(bert.config.maxPositions, 64)
        guard ids.count <= limit else { throw CommandError("--text has \(ids.count - 2) tokens; heat maps are drawn for at most \(limit - 2) with [CLS] and [SEP]") }
        try draw(bert.attentionWeights(ids, layer: layer), labels: ids.map { wordPiece.vocabulary[$0] },
                 title: "\((directory as NSString).lastPathComponent): attention of layer \(layer) (bidirectional: no causal mask)")
    }

    /// Heat maps of weights (H, T, T) into --output; head 0 printed as numbers for short texts.
    func draw(_ weights: Tensor, labels: [String], title: String) throws {
        let heads = weights.shape[0], t = labels.count
        let values = weights.scalars
        if t <= 12 { // small inputs: print head 0 as a matrix
            print("layer \(layer), head 0 (rows attend to columns):")
            for i in 0..<t {
                let row = (0..<t).map { String(format: "%.2f", values[i * t + $0]) }.joined(separator: " ")
                print("\(labels[i].debugDescription.padding(toLength: 14, withPad: " ", startingAt: 0)) \(row)")
            }
        }
        try HeatMaps(title: title, labels: labels,
                     maps: (0..<heads).map { h in Array(values[(h * t * t)..<((h + 1) * t * t)]) }).svg()
            .data(using: .utf8)!.write(to: URL(fileURLWithPath: output), options: .atomic)
        printError("wrote \(output): \(heads) heads × \(t) tokens")
    }
}

struct Embeddings: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Project token embeddings of words to 2-D (PCA) and draw them.")

    @Option(parsing: .upToNextOption, help: "Words to place (a word of several tokens uses their mean).") var words: [String]
    @Option(help: "Model directory (default: llm-demo-output if present).") var model: String?
    @Option(help: "SVG file to write.") var output = "embeddings.svg"
    @Option(help: "Also print each word's K nearest tokens by cosine similarity of the token embeddings.") var nearest: Int?

    func validate() throws {
        guard words.count >= 3 else { throw ValidationError("give at least 3 --words to project") }
        if let k = nearest, k < 1 { throw ValidationError("--nearest must be at least 1") }
    }

    func run() throws {
        let (gpt, encoding, name) = try modelForPictures(model)
        let table = gpt.tokenEmbedding.weight, c = gpt.config.embeddingSize
        let vectors: [[Float]] = words.map { word in
            let ids = encoding.encodeOrdinary(" " + word) // GPT-2 words mostly carry their leading space
            let rows = Autograd.withNoGrad { table.indexSelect(0, ids).mean(axis: 0) }
            return rows.scalars
        }
        let points = PCA.project(vectors, dimensions: c)
        for (w, p) in zip(words, points) { print(String(format: "%@\t%.4f\t%.4f", w, p.0, p.1)) }
        if let k = nearest {
            // The whole table as word vectors, a token's text standing for it (GPT-2's leading space shown as "_").
            let tokens = try (0..<gpt.config.vocabSize).map { id in
                id < encoding.vocabularySize ? try encoding.decode([id]).replacingOccurrences(of: " ", with: "_") : "<\(id)>"
            }
            let table = WordVectors(words: tokens, dimension: c, values: gpt.tokenEmbedding.weight.scalars)
            for (word, vector) in zip(words, vectors) {
                let own = Set(encoding.encodeOrdinary(" " + word))
                let neighbours = table.nearest(vector, count: k, excluding: own)
                print(word + ": " + neighbours.map { String(format: "%@ %.3f", $0.word, $0.similarity) }.joined(separator: ", "))
            }
        }
        try ScatterPlot(title: "\(name): token embeddings, first two principal components", points: points, labels: words).svg()
            .data(using: .utf8)!.write(to: URL(fileURLWithPath: output), options: .atomic)
        printError("wrote \(output)")
    }
}

struct HeatMaps {
    let title: String
    let rowLabels: [String], columnLabels: [String]
    let maps: [[Float]] // one (rows x columns) row-major matrix per head
    /// Each map's caption (default "head 0", "head 1", …).
    var captions: [String]?

    /// Square maps: every token against every token (attention heads).
    init(title: String, labels: [String], maps: [[Float]]) {
        (self.title, rowLabels, columnLabels, self.maps) = (title, labels, labels, maps)
    }

    /// Rows against columns (an output's alignment over its source).
    init(title: String, rows: [String], columns: [String], maps: [[Float]], captions: [String]) {
        (self.title, rowLabels, columnLabels, self.maps, self.captions) = (title, rows, columns, maps, captions)
    }

    func svg() -> String {
        let (r, c) = (rowLabels.count, columnLabels.count), cell = Swift.max(6.0, Swift.min(18.0, 360.0 / Double(Swift.max(r, c))))
        let margin = 90.0, sizeW = cell * Double(c), sizeH = cell * Double(r), columns = Swift.min(4, maps.count)
        let panelW = sizeW + margin + 20, panelH = sizeH + margin + 30
        let rows = (maps.count + columns - 1) / columns
        let width = panelW * Double(columns) + 20, height = panelH * Double(rows) + 50
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"\(Int(Swift.min(11, cell)))\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/><text x=\"\(width / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">\(escapeXML(title))</text>\n"
        for (h, map) in maps.enumerated() {
            let ox = 20 + panelW * Double(h % columns) + margin, oy = 50 + panelH * Double(h / columns) + margin
            out += "<text x=\"\(ox + sizeW / 2)\" y=\"\(oy - margin + 14)\" text-anchor=\"middle\">\(escapeXML(captions?[h] ?? "head \(h)"))</text>\n"
            for i in 0..<r {
                for j in 0..<c {
                    let w = Double(map[i * c + j])
                    let shade = Int(255 * (1 - Swift.min(Swift.max(w, 0), 1)))
                    out += "<rect x=\"\(ox + Double(j) * cell)\" y=\"\(oy + Double(i) * cell)\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(\(shade),\(shade),255)\"><title>\(escapeXML(rowLabels[i])) → \(escapeXML(columnLabels[j])): \(String(format: "%.3f", w))</title></rect>"
                }
                out += "<text x=\"\(ox - 4)\" y=\"\(oy + (Double(i) + 0.75) * cell)\" text-anchor=\"end\">\(escapeXML(rowLabels[i]))</text>\n"
            }
            for j in 0..<c {
                out += "<text transform=\"translate(\(ox + (Double(j) + 0.75) * cell) \(oy - 4)) rotate(-60)\">\(escapeXML(columnLabels[j]))</text>\n"
            }
        }
        return out + "</svg>\n"
    }
}

struct ScatterPlot {
    let title: String
    let points: [(Double, Double)]
    let labels: [String]

    func svg() -> String {
        let w = 640.0, h = 480.0, m = 50.0
        let xs = points.map(\.0), ys = points.map(\.1)
        let (x0, x1) = (xs.min()!, xs.max()!), (y0, y1) = (ys.min()!, ys.max()!)
        func px(_ x: Double) -> Double { m + (x - x0) / Swift.max(x1 - x0, 1e-12) * (w - 2 * m) }
        func py(_ y: Double) -> Double { h - m - (y - y0) / Swift.max(y1 - y0, 1e-12) * (h - 2 * m) }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"13\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/><text x=\"\(w / 2)\" y=\"24\" text-anchor=\"middle\" font-size=\"14\">\(escapeXML(title))</text>\n"
        out += "<rect x=\"\(m - 10)\" y=\"\(m - 10)\" width=\"\(w - 2 * m + 20)\" height=\"\(h - 2 * m + 20)\" fill=\"none\" stroke=\"#999\"/>\n"
        for (p, label) in zip(points, labels) {
            out += "<circle cx=\"\(px(p.0))\" cy=\"\(py(p.1))\" r=\"4\" fill=\"#1f77b4\"/><text x=\"\(px(p.0) + 6)\" y=\"\(py(p.1) - 6)\">\(escapeXML(label))</text>\n"
        }
        out += "<text x=\"\(w / 2)\" y=\"\(h - 12)\" text-anchor=\"middle\">first principal component</text>"
        out += "<text transform=\"translate(16 \(h / 2)) rotate(-90)\" text-anchor=\"middle\">second principal component</text>\n"
        return out + "</svg>\n"
    }
}
