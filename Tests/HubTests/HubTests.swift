// `llm download` against a loopback server that answers as the Hugging Face Hub does (the real Hub is not
// reachable from CI machines): the model-info API, HEAD on `resolve` with X-Repo-Commit / ETag /
// X-Linked-Etag / X-Linked-Size and a 302 to a CDN for large files, Range requests, a connection dropped
// mid-file, a wrong hash, 401 and 404; the cache laid out as huggingface_hub lays it out; offline mode.

import Foundation
import Hub
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Testing
import Tokenizers

typealias FieldName = HTTPFields.Element.Name

/// A fake Hub: one public repository org/tiny and a private one org/private (token "secret").
final class FakeHub: @unchecked Sendable { // mutable state behind `lock`
    static let commit = "0123456789abcdef0123456789abcdef01234567"
    let config = Array(#"{"model_type": "gpt2", "n_embd": 8}"#.utf8)
    let notes = Array("notes\n".utf8)
    let weights: [UInt8] = { var g = SystemRandomNumberGenerator(); return (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &g) } }()
    var weightsHash: String { SHA256.hex(weights) }

    private let lock = NSLock()
    private var _dropNext = false, _wrongHash = false, _log: [String] = []
    var dropNext: Bool { get { lock.withLock { _dropNext } } set { lock.withLock { _dropNext = newValue } } }
    var wrongHash: Bool { get { lock.withLock { _wrongHash } } set { lock.withLock { _wrongHash = newValue } } }
    var log: [String] { lock.withLock { _log } }
    func record(_ line: String) { lock.withLock { _log.append(line) } }

    var port = 0
    private var group: ServiceGroup?
    private var task: Task<Void, Error>?

    func start() async throws {
        let router = Router()
        router.get("/api/models/:org/:name/revision/:revision") { request, context in
            let repo = "\(context.parameters.get("org")!)/\(context.parameters.get("name")!)"
            try self.authorize(repo, request)
            guard repo.hasPrefix("org/"), context.parameters.get("revision") == "main" || context.parameters.get("revision") == FakeHub.commit else {
                return Response(status: .notFound, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"Repository not found"}"#)))
            }
            let siblings = ["config.json", "model.safetensors", "sub/notes.txt"].map { ["rfilename": $0] }
            let json = try JSONSerialization.data(withJSONObject: ["id": repo, "sha": FakeHub.commit, "siblings": siblings])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        for method in [HTTPRequest.Method.head, .get] {
            router.on("/:org/:name/resolve/:commit/**", method: method) { request, context in
                let repo = "\(context.parameters.get("org")!)/\(context.parameters.get("name")!)"
                try self.authorize(repo, request)
                let path = context.parameters.getCatchAll().joined(separator: "/")
                self.record("\(request.method) resolve/\(path)")
                guard context.parameters.get("commit") == FakeHub.commit else { throw HTTPError(.notFound) }
                var headers: HTTPFields = [FieldName("X-Repo-Commit")!: FakeHub.commit]
                switch path {
                case "model.safetensors": // a large file: stored by content, served by the CDN
                    let hash = self.wrongHash ? String(repeating: "ab", count: 32) : self.weightsHash
                    headers[FieldName("X-Linked-Etag")!] = "\"\(hash)\""
                    headers[FieldName("X-Linked-Size")!] = "\(self.weights.count)"
                    headers[.eTag] = "\"0000000000000000000000000000000000000001\""
                    headers[.location] = "http://127.0.0.1:\(self.port)/cdn/\(self.weightsHash)"
                    return Response(status: .found, headers: headers)
                case "config.json", "sub/notes.txt":
                    let bytes = path == "config.json" ? self.config : self.notes
                    headers[.eTag] = "\"\(String(SHA256.hex(bytes).prefix(40)))\""
                    headers[.contentLength] = "\(bytes.count)"
                    return Response(status: .ok, headers: headers, body: request.method == .head ? .init() : .init(byteBuffer: ByteBuffer(bytes: bytes)))
                default: throw HTTPError(.notFound)
                }
            }
        }
        router.get("/cdn/:hash") { request, _ in
            let range = request.headers[.range]
            self.record("GET cdn" + (range.map { " \($0)" } ?? ""))
            var start = 0
            if let range, range.hasPrefix("bytes="), let from = Int(range.dropFirst(6).split(separator: "-").first ?? "") { start = from }
            let bytes = Array(self.weights[start...])
            var headers: HTTPFields = [.contentLength: "\(bytes.count)", .contentType: "application/octet-stream"]
            if start > 0 { headers[.contentRange] = "bytes \(start)-\(self.weights.count - 1)/\(self.weights.count)" }
            if self.dropNext { // send a third, then the connection goes away
                self.dropNext = false
                return Response(status: start > 0 ? .partialContent : .ok, headers: headers, body: .init { writer in
                    try await writer.write(ByteBuffer(bytes: bytes.prefix(bytes.count / 3)))
                    throw CancellationError()
                })
            }
            return Response(status: start > 0 ? .partialContent : .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        var logger = Logger(label: "fake-hub")
        logger.logLevel = .critical
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { sink.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        port = await iterator.next()!
    }

    func stop() async {
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
    }

    private func authorize(_ repo: String, _ request: Request) throws {
        if repo == "org/private", request.headers[.authorization] != "Bearer secret" { throw HTTPError(.unauthorized) }
    }

    func environment(cache: String, token: String? = nil, offline: Bool = false) -> HubEnvironment {
        var values = ["HF_ENDPOINT": "http://127.0.0.1:\(port)/", "HF_HUB_CACHE": cache]
        if let token { values["HF_TOKEN"] = token }
        if offline { values["HF_HUB_OFFLINE"] = "1" }
        return HubEnvironment(values)
    }
}

@Suite("Hub downloads", .serialized)
struct HubTests {
    func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "hub-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func downloadsIntoHuggingFaceHubsCacheLayout() async throws {
        let hub = FakeHub()
        try await hub.start()
        let cache = try scratch()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let result = try await HubDownloader(environment: hub.environment(cache: cache)).download("org/tiny")
        await hub.stop()
        let repo = cache + "/models--org--tiny"
        #expect(result.snapshot == repo + "/snapshots/" + FakeHub.commit)
        #expect(try String(contentsOfFile: repo + "/refs/main", encoding: .utf8) == FakeHub.commit)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: result.snapshot + "/model.safetensors") == "../../blobs/" + hub.weightsHash)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: result.snapshot + "/sub/notes.txt").hasPrefix("../../../blobs/"))
        #expect(FileManager.default.contents(atPath: result.snapshot + "/model.safetensors") == Data(hub.weights))
        #expect(FileManager.default.contents(atPath: result.snapshot + "/config.json") == Data(hub.config))
        #expect(FileManager.default.contents(atPath: result.snapshot + "/sub/notes.txt") == Data(hub.notes))
        #expect(try FileManager.default.contentsOfDirectory(atPath: repo + "/blobs").allSatisfy { !$0.hasSuffix(".incomplete") })
        #expect(try HubRepository("org/tiny", cache: cache).cachedSnapshot() == result.snapshot)
    }

    @Test func aDroppedConnectionResumesWithARangeRequest() async throws {
        let hub = FakeHub()
        try await hub.start()
        hub.dropNext = true
        let cache = try scratch()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        let result = try await HubDownloader(environment: hub.environment(cache: cache)).download("org/tiny", include: ["*.safetensors"])
        await hub.stop()
        #expect(result.files == ["model.safetensors"])
        #expect(FileManager.default.contents(atPath: result.snapshot + "/model.safetensors") == Data(hub.weights))
        let cdn = hub.log.filter { $0.hasPrefix("GET cdn") }
        #expect(cdn.count == 2 && cdn[0] == "GET cdn" && cdn[1].hasPrefix("GET cdn bytes=") && cdn[1] != "GET cdn bytes=0-", "\(cdn)")
        #expect(result.downloadedBytes == hub.weights.count)
    }

    @Test func aWrongHashIsDiscardedAndNothingIsLeftUnderAFinalName() async throws {
        let hub = FakeHub()
        try await hub.start()
        hub.wrongHash = true
        let cache = try scratch()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        await #expect {
            _ = try await HubDownloader(environment: hub.environment(cache: cache)).download("org/tiny", include: ["model.safetensors"])
        } throws: { "\($0)".contains("sha256") && "\($0)".contains("discarded") }
        await hub.stop()
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/models--org--tiny/blobs")) ?? []
        #expect(blobs.isEmpty, "\(blobs)")
        #expect(!FileManager.default.fileExists(atPath: cache + "/models--org--tiny/snapshots/\(FakeHub.commit)/model.safetensors"))
    }

    @Test func privateAndMissingRepositoriesAreClearErrors() async throws {
        let hub = FakeHub()
        try await hub.start()
        let cache = try scratch()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        await #expect { _ = try await HubDownloader(environment: hub.environment(cache: cache)).download("org/private") }
            throws: { "\($0)".contains("HF_TOKEN") && "\($0)".contains("401") }
        let withToken = try await HubDownloader(environment: hub.environment(cache: cache, token: "secret")).download("org/private", include: ["config.json"])
        #expect(FileManager.default.contents(atPath: withToken.snapshot + "/config.json") == Data(hub.config))
        await #expect { _ = try await HubDownloader(environment: hub.environment(cache: cache)).download("nobody/missing") }
            throws: { "\($0)".contains("not found") && "\($0)".contains("404") }
        await #expect { _ = try await HubDownloader(environment: hub.environment(cache: cache)).download("org/tiny", revision: "v9") }
            throws: { "\($0)".contains("not found") }
        await #expect { _ = try await HubDownloader(environment: hub.environment(cache: cache)).download("../etc") }
            throws: { "\($0)".contains("not a Hub repository name") }
        await hub.stop()
    }

    @Test func offlineAnswersFromTheCacheOrSaysItCannot() async throws {
        let hub = FakeHub()
        try await hub.start()
        let cache = try scratch()
        defer { try? FileManager.default.removeItem(atPath: cache) }
        await #expect { _ = try await HubDownloader(environment: hub.environment(cache: cache, offline: true)).download("org/tiny") }
            throws: { "\($0)".contains("HF_HUB_OFFLINE") && "\($0)".contains("not in the cache") }
        let online = try await HubDownloader(environment: hub.environment(cache: cache)).download("org/tiny")
        let requests = hub.log.count
        let offline = try await HubDownloader(environment: hub.environment(cache: cache, offline: true)).download("org/tiny")
        #expect(offline.snapshot == online.snapshot && hub.log.count == requests, "offline: no request")
        // A second online run finds every blob cached and downloads nothing.
        let again = try await HubDownloader(environment: hub.environment(cache: cache)).download("org/tiny")
        #expect(again.downloadedBytes == 0)
        await hub.stop()
    }

    @Test func environmentDefaults() {
        let e = HubEnvironment(["HF_HOME": "/data/hf"])
        #expect(e.endpoint == "https://huggingface.co" && e.cache == "/data/hf/hub" && e.token == nil && !e.offline)
        let f = HubEnvironment(["HF_HUB_CACHE": "/c", "HF_ENDPOINT": "http://mirror//", "HF_TOKEN": "t", "HF_HUB_OFFLINE": "true"])
        #expect(f.endpoint == "http://mirror" && f.cache == "/c" && f.token == "t" && f.offline)
    }
}
