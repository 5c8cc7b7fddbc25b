// `llm index`: a retrieval index of text chunks and their sentence embeddings (Formats/VectorIndex). `build` cuts
// text, Markdown and JSONL files into chunks (Inference/Retrieval/TextChunker), embeds them and writes the index;
// `add` embeds more files into an existing one; `search` embeds queries and ranks the chunks by cosine similarity,
// exactly (one matrix product against every stored vector) or, on an index built with `--hnsw`, through its graph.

import ArgumentParser
import Foundation
import Formats
import Inference

struct Index: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Build, extend and search a retrieval index of text chunks and their sentence embeddings.",
        subcommands: [IndexBuild.self, IndexAdd.self, IndexSearch.self])
}

/// Reading files into chunks and embedding them: what build and add share.
struct IndexInput {
    let embedder: SentenceTransformer
    let chunker: TextChunker

    init(embedder: SentenceTransformer, chunkTokens: Int, overlap: Int) {
        self.embedder = embedder
        chunker = TextChunker(maxTokens: chunkTokens, overlap: overlap, count: embedder.tokenCount)
    }

    /// The chunks of `files`: text and Markdown cut on paragraph and sentence boundaries; JSONL records
    /// ({"id", "text", …}) one chunk each when short (the id kept), else cut like text ("ID#2" for the second piece).
    func chunks(_ files: [String]) throws -> [IndexedChunk] {
        var all: [IndexedChunk] = []
        for path in files {
            let text = try Input.text(path)
            if path.hasSuffix(".jsonl") {
                for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
                where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                    guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                          let body = record["text"] as? String else {
                        throw CommandError("\(path):\(n + 1): a record must be a JSON object with a \"text\" string")
                    }
                    let id = (record["id"] as? String) ?? (record["id"] as? NSNumber).map { "\($0)" } ?? "\(path):\(n + 1)"
                    var metadata = record
                    (metadata["id"], metadata["text"]) = (nil, nil)
                    let pieces = chunker.chunks(body)
                    guard !pieces.isEmpty else { throw CommandError("\(path):\(n + 1): the record's text is empty") }
                    for (k, piece) in pieces.enumerated() {
                        all.append(IndexedChunk(id: pieces.count == 1 ? id : "\(id)#\(k + 1)", source: "\(path):\(n + 1)",
                                                start: piece.start, end: piece.end, text: piece.text, metadata: metadata))
                    }
                }
            } else {
                let pieces = chunker.chunks(text)
                guard !pieces.isEmpty else { throw CommandError("\(path): no text to index") }
                for (k, piece) in pieces.enumerated() {
                    all.append(IndexedChunk(id: "\(path)#\(k + 1)", source: path, start: piece.start, end: piece.end, text: piece.text))
                }
            }
        }
        return all
    }

    /// The chunks' vectors, with a progress bar on long inputs.
    func embed(_ chunks: [IndexedChunk], batchSize: Int) -> [[Float]] {
        var bar = ProgressBar(total: chunks.count, label: "embedding", enabled: chunks.count > 64)
        return embedder.embed(chunks.map(\.text), batchSize: batchSize) { bar.update($0, "chunks") }
    }
}

struct IndexBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Cut files into chunks, embed them and write an index.",
        discussion: """
            FILEs are text or Markdown (cut on paragraphs, headings and sentences into chunks of at most \
            --chunk-tokens tokens of the embedder, consecutive pieces of one paragraph sharing up to --overlap \
            tokens of whole sentences), or JSONL records {"id", "text", …} (a short record is one chunk with its id; \
            its other fields are kept as metadata). The index file records the embedder (its path, shape and a \
            fingerprint of its files), so searching it with another embedder is refused. \
            Example: llm index build --embedder all-MiniLM-L6-v2 --output notes.index docs/*.md
            """)

    @Option(help: "A sentence-transformers model directory.") var embedder: String
    @Option(help: "The index file to write.") var output: String
    @Option(help: "Most tokens of a chunk (default 128, or what the embedder reads when it reads fewer: max_seq_length minus 2).")
    var chunkTokens: Int?
    @Option(help: "Tokens of whole sentences consecutive chunks of a paragraph may share.") var overlap = 16
    @Option(help: "Chunks per forward pass.") var batchSize = 32
    @Flag(help: "Also build an HNSW graph, for approximate search that scores a few thousand chunks instead of all.")
    var hnsw = false
    @Option(help: "With --hnsw: links per chunk (twice as many on the bottom layer).") var hnswM = 16
    @Option(help: "With --hnsw: candidates weighed when linking a chunk (more: a better graph, built slower).")
    var efConstruction = 200
    @Argument(help: "Text, Markdown or JSONL files.") var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file to index") }
        guard (2...256).contains(hnswM), efConstruction >= 1 else { throw ValidationError("--hnsw-m must be 2 to 256 and --ef-construction at least 1") }
        guard (chunkTokens ?? 128) >= 1, overlap >= 0, overlap < (chunkTokens ?? 128) else {
            throw ValidationError("--chunk-tokens must be at least 1 and --overlap below it")
        }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        try requireDirectory(embedder, flag: "--embedder")
        let model = try SentenceTransformer(directory: embedder)
        let chunkTokens = self.chunkTokens ?? min(128, model.maxSequenceLength - 2)
        guard overlap < chunkTokens else { throw CommandError("--overlap \(overlap) must be below the chunks' \(chunkTokens) tokens") }
        guard chunkTokens <= model.maxSequenceLength - 2 else {
            throw CommandError("--chunk-tokens \(chunkTokens) is longer than \(embedder) reads (\(model.maxSequenceLength - 2) tokens besides [CLS] and [SEP])")
        }
        let input = IndexInput(embedder: model, chunkTokens: chunkTokens, overlap: overlap)
        let chunks = try input.chunks(files)
        let index = VectorIndex(embedder: model.identity(directory: embedder), settings: ["chunk_tokens": chunkTokens, "overlap": overlap],
                                dimension: model.dimension)
        index.add(chunks, vectors: input.embed(chunks, batchSize: batchSize))
        if hnsw {
            var bar = ProgressBar(total: chunks.count, label: "linking", enabled: chunks.count > 2000)
            index.buildGraph(m: hnswM, efConstruction: efConstruction) { bar.update($0, "chunks") }
        }
        try index.write(to: output)
        printError("wrote \(output): \(chunks.count) chunks of \(files.count) file\(files.count == 1 ? "" : "s"), \(model.dimension) dimensions"
                   + (hnsw ? ", an HNSW graph (m \(hnswM))" : ""))
    }
}

struct IndexAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Embed more files into an existing index (same chunking, same embedder).")

    @Option(help: "The index to extend (rewritten atomically).") var index: String
    @Option(help: "The embedder (default: the one the index records).") var embedder: String?
    @Option(help: "Chunks per forward pass.") var batchSize = 32
    @Argument(help: "Text, Markdown or JSONL files.") var files: [String]

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one file to add") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    }

    func run() throws {
        let existing = try openIndex(index)
        let model = try indexEmbedder(existing, path: index, given: embedder)
        let input = IndexInput(embedder: model, chunkTokens: existing.settings["chunk_tokens"] as? Int ?? 128,
                               overlap: existing.settings["overlap"] as? Int ?? 0)
        let chunks = try input.chunks(files)
        let known = Set(existing.chunks.map(\.id))
        if let repeated = chunks.first(where: { known.contains($0.id) }) {
            throw CommandError("\(index) already has a chunk \"\(repeated.id)\": \(repeated.source) is indexed already")
        }
        let vectors = input.embed(chunks, batchSize: batchSize)
        var bar = ProgressBar(total: existing.count + chunks.count, label: "linking", enabled: existing.graph != nil && chunks.count > 2000)
        existing.add(chunks, vectors: vectors) { bar.update($0, "chunks") }
        try existing.write(to: index)
        printError("added \(chunks.count) chunks to \(index): \(existing.count) in all")
    }
}

struct IndexSearch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Rank an index's chunks against queries by cosine similarity.",
        discussion: """
            The search is exact (every chunk scored) unless the index was built with --hnsw: then its graph is searched, \
            weighing --ef candidates (more finds more of the exact best, slower; --exact scores every chunk). \
            --json prints one line per query: {query, results: [{id, score, text, source, start, end, …metadata}]}.
            """)

    @Option(help: "The index to search.") var index: String
    @Option(help: "The embedder (default: the one the index records).") var embedder: String?
    @Option(help: "Results per query.") var topK = 5
    @Option(help: "Candidates the HNSW search weighs (at least --top-k).") var ef = 64
    @Flag(help: "Score every chunk, even when the index has an HNSW graph.") var exact = false
    @Flag(help: "One JSON line per query.") var json = false
    @Argument(help: "Queries.") var queries: [String]

    func validate() throws {
        guard !queries.isEmpty else { throw ValidationError("give at least one query") }
        guard topK >= 1 else { throw ValidationError("--top-k must be at least 1") }
        guard ef >= 1 else { throw ValidationError("--ef must be at least 1") }
    }

    func run() throws {
        for q in queries where q.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw CommandError("an empty query \(q.isEmpty ? "" : "(only whitespace) ")matches nothing")
        }
        let opened = try openIndex(index)
        let model = try indexEmbedder(opened, path: index, given: embedder)
        let vectors = model.embed(queries)
        let results = exact ? opened.search(vectors, topK: topK) : opened.search(vectors, topK: topK, ef: ef)
        for (query, hits) in zip(queries, results) {
            if json {
                print(try jsonLine(["query": query, "results": hits.map { hit -> [String: Any] in
                    let c = opened.chunks[hit.chunk]
                    return c.metadata.merging(["id": c.id, "score": Double(hit.score), "text": c.text, "source": c.source,
                                               "start": c.start, "end": c.end]) { _, ours in ours }
                }]))
            } else {
                print(query)
                for (rank, hit) in hits.enumerated() {
                    let c = opened.chunks[hit.chunk], snippet = c.text.count > 100 ? c.text.prefix(100) + "…" : Substring(c.text)
                    print(String(format: "%3d. %.4f  ", rank + 1, hit.score) + "\(c.id)  " + snippet.replacingOccurrences(of: "\n", with: " "))
                }
            }
        }
    }
}

func openIndex(_ path: String) throws -> VectorIndex {
    guard FileManager.default.fileExists(atPath: path) else { throw CommandError("--index \(path): no such file") }
    do { return try VectorIndex(contentsOf: path) } catch let error as IndexError { throw CommandError(error.description) }
}

/// The embedder to use with `index`: `given`, or the directory the index records; refused when its fingerprint is
/// not the index's.
func indexEmbedder(_ index: VectorIndex, path: String, given: String?) throws -> SentenceTransformer {
    let recorded = index.embedder["path"] as? String ?? ""
    let directory = given ?? recorded
    guard FileManager.default.fileExists(atPath: directory) else {
        throw CommandError("\(path) was built with \(recorded), which is not there now; give its copy with --embedder DIR")
    }
    let model = try SentenceTransformer(directory: directory)
    let identity = model.identity(directory: directory)
    guard identity["fingerprint"] as? String == index.embedder["fingerprint"] as? String, model.dimension == index.dimension else {
        throw CommandError("\(path) was built with another embedder (\(index.embedder["name"] ?? "?"), \(index.dimension) dimensions, "
                           + "fingerprint \(index.embedder["fingerprint"] ?? "?")); \(directory) is \(identity["name"]!), "
                           + "\(model.dimension) dimensions, fingerprint \(identity["fingerprint"]!)")
    }
    return model
}
