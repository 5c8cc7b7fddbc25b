// The Hugging Face Hub's local cache, laid out exactly as `huggingface_hub` lays it out, so Python and Swift
// users share one cache:
//   $HF_HUB_CACHE (default $HF_HOME/hub, default ~/.cache/huggingface/hub)
//     models--ORG--NAME/
//       blobs/ETAG                 the files' bytes, named by their etag (a large file's: its sha256)
//       snapshots/COMMIT/PATH      links to ../../blobs/ETAG, one tree per commit
//       refs/REVISION              the commit a branch or tag pointed at when last downloaded
// A file in progress is blobs/ETAG.incomplete: never visible under its final name.

import Foundation

public struct HubEnvironment: Sendable {
    /// HF_ENDPOINT (default https://huggingface.co), without a trailing slash.
    public var endpoint: String
    /// HF_TOKEN, sent as "Authorization: Bearer TOKEN".
    public var token: String?
    /// HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub.
    public var cache: String
    /// HF_HUB_OFFLINE=1: never touch the network, answer from the cache.
    public var offline: Bool

    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        var endpoint = environment["HF_ENDPOINT"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        token = environment["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let home = environment["HF_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["XDG_CACHE_HOME"] ?? (NSHomeDirectory() as NSString).appendingPathComponent(".cache")) as NSString)
                .appendingPathComponent("huggingface")
        cache = environment["HF_HUB_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? (home as NSString).appendingPathComponent("hub")
        offline = ["1", "ON", "YES", "TRUE"].contains((environment["HF_HUB_OFFLINE"] ?? "").uppercased())
    }
}

public struct HubError: Error, CustomStringConvertible, LocalizedError {
    public let description: String
    public init(_ description: String) { self.description = description }
    public var errorDescription: String? { description }
}

/// One model repository's folder in the cache.
public struct HubRepository: Sendable {
    public let id: String
    public let folder: String

    /// `id` is "org/name" (or "name"); anything else is refused before it becomes a path.
    public init(_ id: String, cache: String) throws {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix("--")
            && $0.unicodeScalars.allSatisfy(allowed.contains) }) else {
            throw HubError("\(id) is not a Hub repository name (ORG/NAME, letters, digits, - _ .)")
        }
        self.id = id
        folder = (cache as NSString).appendingPathComponent("models--" + parts.joined(separator: "--"))
    }

    public var blobs: String { (folder as NSString).appendingPathComponent("blobs") }
    public func snapshot(_ commit: String) -> String { (folder as NSString).appendingPathComponent("snapshots/" + commit) }
    public func ref(_ revision: String) -> String { (folder as NSString).appendingPathComponent("refs/" + revision) }

    /// The commit `revision` names: itself when it is a commit hash, else what refs/REVISION recorded.
    public func commit(for revision: String) -> String? {
        if revision.count == 40, revision.allSatisfy(\.isHexDigit) { return revision }
        return (try? String(contentsOfFile: ref(revision), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The cached snapshot directory of `revision`, if it was downloaded.
    public func cachedSnapshot(_ revision: String = "main") -> String? {
        guard let commit = commit(for: revision) else { return nil }
        var isDirectory: ObjCBool = false
        let path = snapshot(commit)
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue ? path : nil
    }
}
