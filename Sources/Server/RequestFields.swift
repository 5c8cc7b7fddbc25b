// Reading an OpenAI request body field by field, so every mistake is a 400 that names the field:
// "temperature must be a number from 0 to 2" rather than a decoder's dump. (OpenAI's fields are
// polymorphic — a prompt is a string, a list of strings or token ids; stop is a string or a list — which a
// JSON object read by hand takes more plainly than Codable.)

import Foundation
import Hummingbird

struct RequestFields {
    let object: [String: Any]

    init(_ buffer: ByteBuffer) throws {
        let data = Data(buffer.readableBytesView)
        guard let json = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw APIError.invalid("The body is not valid JSON.")
        }
        guard let object = json as? [String: Any] else { throw APIError.invalid("The body must be a JSON object.") }
        self.object = object
    }

    func has(_ key: String) -> Bool { object[key] != nil && !(object[key] is NSNull) }

    private func value(_ key: String) -> Any? { has(key) ? object[key] : nil }

    /// JSON true/false arrive as NSNumbers of type "c" (numbers 0 and 1 would also cast to Bool).
    static func isBool(_ v: Any) -> Bool {
        (v as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v as? String else { throw APIError.invalid("\(key) must be a string.", param: key) }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = value(key) else { return nil }
        guard Self.isBool(v), let b = v as? Bool else { throw APIError.invalid("\(key) must be true or false.", param: key) }
        return b
    }

    func int(_ key: String, in range: ClosedRange<Int>, _ what: String) throws -> Int? {
        guard let v = value(key) else { return nil }
        guard !Self.isBool(v), let d = v as? Double, d == d.rounded(), abs(d) < 9e15, range.contains(Int(d)) else {
            throw APIError.invalid("\(key) must be \(what).", param: key)
        }
        return Int(d)
    }

    func number(_ key: String, valid: (Double) -> Bool, _ what: String) throws -> Double? {
        guard let v = value(key) else { return nil }
        guard !Self.isBool(v), let d = v as? Double, d.isFinite, valid(d) else { throw APIError.invalid("\(key) must be \(what).", param: key) }
        return d
    }

    /// A string or a list of strings (stop).
    func strings(_ key: String, max: Int) throws -> [String] {
        guard let v = value(key) else { return [] }
        if let s = v as? String { return s.isEmpty ? [] : [s] }
        guard let list = v as? [Any], list.count <= max, list.allSatisfy({ $0 is String }) else {
            throw APIError.invalid("\(key) must be a string or a list of at most \(max) strings.", param: key)
        }
        return (list as! [String]).filter { !$0.isEmpty }
    }

    func object(_ key: String) throws -> RequestFields? {
        guard let v = value(key) else { return nil }
        guard let o = v as? [String: Any] else { throw APIError.invalid("\(key) must be an object.", param: key) }
        return RequestFields(object: o)
    }

    init(object: [String: Any]) { self.object = object }

    /// The raw value, for fields with several shapes.
    subscript(_ key: String) -> Any? { value(key) }
}

/// The sampling fields both endpoints share.
struct SamplingFields {
    var temperature: Float = 1
    var topP: Float?
    var topK: Int?
    var seed: UInt64 = 0
    var stop: [String] = []
    var stream = false
    var includeUsage = false

    init(_ f: RequestFields) throws {
        if let t = try f.number("temperature", valid: { $0 >= 0 && $0 <= 2 }, "a number from 0 to 2") { temperature = Float(t) }
        if let p = try f.number("top_p", valid: { $0 > 0 && $0 <= 1 }, "a number above 0 and at most 1") { topP = Float(p) }
        if let k = try f.int("top_k", in: 0...1_000_000, "a whole number, 0 or more (0: no limit)"), k > 0 { topK = k }
        if let s = try f.int("seed", in: Int.min...Int.max, "a whole number") { seed = UInt64(bitPattern: Int64(s)) }
        stop = try f.strings("stop", max: 16)
        stream = try f.bool("stream") ?? false
        if let options = try f.object("stream_options") {
            guard stream else { throw APIError.invalid("stream_options is only allowed with stream: true.", param: "stream_options") }
            includeUsage = try options.bool("include_usage") ?? false
        }
        if let n = try f.int("n", in: Int.min...Int.max, "a whole number"), n != 1 {
            throw APIError.invalid("n must be 1: this server generates one choice per request.", param: "n")
        }
        _ = try f.string("user") // accepted and ignored
    }
}
