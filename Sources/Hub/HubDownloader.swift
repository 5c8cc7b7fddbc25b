// Downloading a model repository from the Hugging Face Hub the way `huggingface_hub` does:
//   GET  ENDPOINT/api/models/REPO/revision/REV       the commit and the list of files
//   HEAD ENDPOINT/REPO/resolve/COMMIT/PATH           without following redirects: X-Repo-Commit, the etag
//        (X-Linked-Etag for large files, stored by content: their sha256), the size, and for large files a
//        302 to the CDN (Location)
//   GET  that location, with "Range: bytes=N-" to resume a partial download
// into the shared cache (HubCache.swift). Every file is written as blobs/ETAG.incomplete, resumed after a
// dropped connection, checked (size; sha256 for large files, as the Hub states it), and only then renamed
// to its final name and linked from the snapshot: nothing partial or wrong is ever visible.

import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Tokenizers

public struct HubDownloader: Sendable {
    public let environment: HubEnvironment
    /// Attempts per file (a dropped connection resumes where it stopped).
    public var attempts = 4

    public init(environment: HubEnvironment = HubEnvironment()) { self.environment = environment }

    /// What a download did, for the command's summary.
    public struct Result: Sendable {
        public let snapshot: String
        public let commit: String
        public let files: [String]
        public let downloadedBytes: Int
    }

    /// Fetches the files of `repo` at `revision` that match `include` (shell patterns; all when empty) into the
    /// cache and returns the snapshot directory. `progress(file, done, total)` reports the bytes of each file.
    public func download(_ repo: String, revision: String = "main", include: [String] = [],
                         progress: @escaping @Sendable (String, Int, Int) -> Void = { _, _, _ in }) async throws -> Result {
        let repository = try HubRepository(repo, cache: environment.cache)
        if environment.offline {
            guard let snapshot = repository.cachedSnapshot(revision) else {
                throw HubError("HF_HUB_OFFLINE is set and \(repo) (\(revision)) is not in the cache at \(environment.cache)")
            }
            let files = (FileManager.default.enumerator(atPath: snapshot)?.allObjects as? [String] ?? []).sorted()
            return Result(snapshot: snapshot, commit: (snapshot as NSString).lastPathComponent, files: files, downloadedBytes: 0)
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(20), read: .seconds(60))))
        do {
            let result = try await fetch(repository, revision: revision, include: include, client: client, progress: progress)
            try await client.shutdown()
            return result
        } catch let error as HubError {
            try? await client.shutdown()
            throw error
        } catch {
            try? await client.shutdown()
            throw HubError("\(repo): could not reach \(environment.endpoint) (\(error)); check the network or HF_ENDPOINT, "
                           + "or set HF_HUB_OFFLINE=1 to use what is cached")
        }
    }

    private func fetch(_ repository: HubRepository, revision: String, include: [String], client: HTTPClient,
                       progress: @escaping @Sendable (String, Int, Int) -> Void) async throws -> Result {
        let repo = repository.id
        // The commit and the file list.
        let info = try await get(client, "\(environment.endpoint)/api/models/\(repo)/revision/\(escaped(revision))", what: "\(repo) (\(revision))")
        guard let object = try? JSONSerialization.jsonObject(with: info) as? [String: Any], let commit = object["sha"] as? String,
              commit.count == 40, commit.allSatisfy(\.isHexDigit), let siblings = object["siblings"] as? [[String: Any]] else {
            throw HubError("\(environment.endpoint) answered for \(repo) with something that is not the Hub's model description")
        }
        let all = siblings.compactMap { $0["rfilename"] as? String }
        let files = all.filter { path in include.isEmpty || include.contains { fnmatch($0, path, 0) == 0 } }
        guard !files.isEmpty else {
            throw HubError("no file of \(repo) matches --include \(include.joined(separator: " ")) (it has: \(all.prefix(12).joined(separator: ", ")))")
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: repository.blobs, withIntermediateDirectories: true)
        var downloaded = 0
        for path in files {
            guard !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else { throw HubError("\(repo) lists an unsafe path: \(path)") }
            downloaded += try await file(path, of: repository, commit: commit, client: client, progress: progress)
        }
        if revision != commit { // refs/REVISION → commit, written whole
            try fm.createDirectory(atPath: (repository.ref(revision) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try commit.write(toFile: repository.ref(revision), atomically: true, encoding: .utf8)
        }
        return Result(snapshot: repository.snapshot(commit), commit: commit, files: files, downloadedBytes: downloaded)
    }

    /// One file into blobs/ and the snapshot; returns the bytes downloaded (0 when it was cached).
    private func file(_ path: String, of repository: HubRepository, commit: String, client: HTTPClient,
                      progress: @escaping @Sendable (String, Int, Int) -> Void) async throws -> Int {
        let fm = FileManager.default
        let url = "\(environment.endpoint)/\(repository.id)/resolve/\(commit)/\(path.split(separator: "/").map { escaped(String($0)) }.joined(separator: "/"))"
        var head = HTTPClientRequest(url: url)
        head.method = .HEAD
        authorize(&head)
        head.headers.add(name: "Accept-Encoding", value: "identity")
        let response = try await client.execute(head, timeout: .seconds(60))
        try check(response.status, what: "\(repository.id)/\(path)")
        let linked = response.headers.first(name: "X-Linked-Etag")
        guard let rawEtag = linked ?? response.headers.first(name: "ETag") else { throw HubError("\(url): the Hub sent no ETag") }
        let etag = rawEtag.replacingOccurrences(of: "W/", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard !etag.isEmpty, etag.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else { throw HubError("\(url): an unusable ETag \(rawEtag)") }
        let size = Int(response.headers.first(name: "X-Linked-Size") ?? response.headers.first(name: "Content-Length") ?? "")
        var location = url
        if (300..<400).contains(Int(response.status.code)), let target = response.headers.first(name: "Location") {
            location = target.hasPrefix("/") ? environment.endpoint + target : target
        }
        // Large files (a linked etag of 64 hex digits) are stored by content: the etag is their sha256.
        let sha256 = linked != nil && etag.count == 64 && etag.allSatisfy(\.isHexDigit) ? etag.lowercased() : nil

        let blob = (repository.blobs as NSString).appendingPathComponent(etag)
        var fetched = 0
        if !fm.fileExists(atPath: blob) {
            let incomplete = blob + ".incomplete"
            fetched = try await body(location, to: incomplete, size: size, name: path, client: client, progress: progress)
            if let size, (try? fm.attributesOfItem(atPath: incomplete)[.size] as? Int) != size {
                try? fm.removeItem(atPath: incomplete)
                throw HubError("\(repository.id)/\(path): the download has the wrong size (expected \(size) bytes)")
            }
            if let sha256 {
                let actual = try Self.sha256(of: incomplete)
                guard actual == sha256 else {
                    try? fm.removeItem(atPath: incomplete)
                    throw HubError("\(repository.id)/\(path): sha256 \(actual) is not the \(sha256) the Hub reports; the download was discarded")
                }
            }
            try fm.moveItem(atPath: incomplete, toPath: blob)
        } else {
            progress(path, size ?? 0, size ?? 0)
        }
        // snapshots/COMMIT/PATH → ../../blobs/ETAG (relative, as huggingface_hub links them).
        let link = (repository.snapshot(commit) as NSString).appendingPathComponent(path)
        try fm.createDirectory(atPath: (link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let depth = path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: 2 + depth) + "blobs/" + etag
        if (try? fm.destinationOfSymbolicLink(atPath: link)) != target {
            try? fm.removeItem(atPath: link)
            try fm.createSymbolicLink(atPath: link, withDestinationPath: target)
        }
        return fetched
    }

    /// Streams `url` onto the end of `path` (resuming what is there), retrying a dropped connection.
    private func body(_ url: String, to path: String, size: Int?, name: String, client: HTTPClient,
                      progress: @escaping @Sendable (String, Int, Int) -> Void) async throws -> Int {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) { fm.createFile(atPath: path, contents: nil) }
        var fetched = 0
        var lastError: Error?
        for _ in 0..<attempts {
            let have = (try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            if let size, have == size { return fetched }
            var request = HTTPClientRequest(url: url)
            authorize(&request)
            request.headers.add(name: "Accept-Encoding", value: "identity")
            if have > 0 { request.headers.add(name: "Range", value: "bytes=\(have)-") }
            do {
                let response = try await client.execute(request, timeout: .seconds(3600))
                try check(response.status, what: name)
                guard let handle = FileHandle(forWritingAtPath: path) else { throw HubError("cannot write \(path)") }
                defer { try? handle.close() }
                if have > 0 && response.status == .partialContent {
                    try handle.seekToEnd()
                } else {
                    try handle.truncate(atOffset: 0) // the server sent the whole file
                }
                var done = response.status == .partialContent ? have : 0
                for try await buffer in response.body {
                    try handle.write(contentsOf: Data(buffer.readableBytesView))
                    done += buffer.readableBytes
                    fetched += buffer.readableBytes
                    progress(name, done, size ?? done)
                }
                if size == nil || done == size { return fetched }
                lastError = HubError("the connection closed after \(done) of \(size!) bytes")
            } catch let error as HubError { // a refusal (404, 401...), not a dropped connection
                throw error
            } catch {
                lastError = error // dropped: resume from what was written
            }
        }
        throw HubError("\(name): the download failed \(attempts) times (\(lastError.map { "\($0)" } ?? "unknown")); run again to resume")
    }

    private func get(_ client: HTTPClient, _ url: String, what: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        authorize(&request)
        let response = try await client.execute(request, timeout: .seconds(60))
        try check(response.status, what: what)
        var data = Data()
        for try await buffer in response.body {
            data.append(contentsOf: buffer.readableBytesView)
            guard data.count < 64 << 20 else { throw HubError("\(url): the answer is too large") }
        }
        return data
    }

    private func authorize(_ request: inout HTTPClientRequest) {
        if let token = environment.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
    }

    private func check(_ status: HTTPResponseStatus, what: String) throws {
        switch status.code {
        case 200..<400: return
        case 401, 403:
            throw HubError("\(what): access denied (HTTP \(status.code)); a private or gated repository needs HF_TOKEN set to a token that may read it")
        case 404: throw HubError("\(what): not found on \(environment.endpoint) (HTTP 404); check the name and the revision")
        default: throw HubError("\(what): the Hub answered HTTP \(status.code) \(status.reasonPhrase)")
        }
    }

    private func escaped(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? s }

    /// sha256 of a file, read in 1 MB pieces.
    static func sha256(of path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw HubError("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256.Hasher()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return SHA256.hexDigits(hasher.finalize())
    }
}
