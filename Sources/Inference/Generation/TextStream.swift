// Turning a stream of generated tokens into text deltas a client can show as they come:
//   - never half a character: byte-level BPE splits emoji, CJK and combining sequences over several
//     tokens, so bytes wait in a StreamingDecoder until their character is complete;
//   - never any part of a stop string: text that could still become the start of a stop string is held
//     back until the next tokens decide it, and generation ends where a stop string begins (the stop
//     string itself, and whatever followed it in the same token, is never sent).
// Concatenating every delta gives exactly the finished text, so streamed and non-streamed responses agree.

import Tokenizers

public struct TextStream {
    private var decoder: StreamingDecoder
    private let stops: [String]
    /// Decoded text not yet released (a possible beginning of a stop string).
    private var held = ""
    /// Everything released so far.
    public private(set) var text = ""
    /// Set once a stop string has been seen.
    public private(set) var stopped = false

    public init(encoding: Encoding, stopStrings: [String]) {
        decoder = StreamingDecoder(encoding: encoding)
        stops = stopStrings.filter { !$0.isEmpty }
    }

    /// Adds a token; returns the text that can be released now (possibly empty).
    public mutating func add(_ token: Int) throws -> String {
        guard !stopped else { return "" }
        held += try decoder.add(token)
        return release(final: false)
    }

    /// At the end: whatever was held back (an unfinished character becomes U+FFFD, as any decoder shows it).
    public mutating func finish() -> String {
        guard !stopped else { return "" }
        held += decoder.finish()
        return release(final: true)
    }

    private mutating func release(final: Bool) -> String {
        // The earliest complete stop string ends the text.
        if let cut = stops.compactMap({ held.range(of: $0)?.lowerBound }).min() {
            stopped = true
            let out = String(held[..<cut])
            held = ""
            text += out
            return out
        }
        // Keep the longest suffix that is a proper prefix of a stop string (it may still complete).
        var keep = 0
        if !final {
            for stop in stops {
                for length in stride(from: min(stop.count - 1, held.count), through: 1, by: -1)
                where length > keep && held.hasSuffix(stop.prefix(length)) {
                    keep = length
                    break
                }
            }
        }
        let out = String(held.dropLast(keep))
        held = String(held.suffix(keep))
        text += out
        return out
    }
}
