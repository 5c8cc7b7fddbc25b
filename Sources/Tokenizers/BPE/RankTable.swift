// A hash table from byte strings (tokens) to their ranks, the lookup at the heart of BPE.
// Swift's Dictionary<[UInt8], Int> would hash an array and allocate on every lookup of a slice;
// this table hashes the bytes in place (8 at a time) and compares them against a shared arena,
// so a lookup costs one hash and usually one memcmp.

final class RankTable: @unchecked Sendable { // immutable after init
    private let arena: UnsafeMutableBufferPointer<UInt8>
    private let slots: UnsafeMutableBufferPointer<Slot>
    private let mask: Int
    private let pairs: UnsafeMutableBufferPointer<UInt32>
    /// Rank → (offset, length) in the arena, for decoding.
    let tokenOffsets: [Int]
    let tokenLengths: [Int]

    private struct Slot {
        var hash: UInt64 = 0
        var offset: UInt32 = 0
        var length: UInt32 = 0 // 0: empty (no token is empty)
        var rank: UInt32 = 0
    }

    static let missing = UInt32.max

    /// `tokens[rank]` is the byte string of that rank (nil for ranks not in use).
    init(tokens: [[UInt8]?]) {
        let total = tokens.reduce(0) { $0 + ($1?.count ?? 0) }
        arena = .allocate(capacity: max(total, 1))
        var capacity = 16
        while capacity < tokens.count * 2 { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot())
        mask = capacity - 1
        var offsets = [Int](repeating: 0, count: tokens.count), lengths = [Int](repeating: 0, count: tokens.count)
        var offset = 0
        for (rank, token) in tokens.enumerated() {
            guard let token, !token.isEmpty else { continue }
            _ = UnsafeMutableBufferPointer(rebasing: arena[offset..<(offset + token.count)]).initialize(from: token)
            offsets[rank] = offset
            lengths[rank] = token.count
            let h = token.withUnsafeBufferPointer { Self.hash($0.baseAddress!, $0.count) }
            var s = Int(truncatingIfNeeded: h) & mask
            while slots[s].length != 0 { s = (s + 1) & mask }
            slots[s] = Slot(hash: h, offset: UInt32(offset), length: UInt32(token.count), rank: UInt32(rank))
            offset += token.count
        }
        tokenOffsets = offsets
        tokenLengths = lengths
        pairs = .allocate(capacity: 65536)
        pairs.initialize(repeating: Self.missing)
        for (rank, token) in tokens.enumerated() where token?.count == 2 {
            pairs[Int(token![0]) << 8 | Int(token![1])] = UInt32(rank)
        }
    }

    deinit {
        arena.deallocate()
        slots.deallocate()
        pairs.deallocate()
    }

    /// The rank of bytes[0..<count], or `RankTable.missing`.
    @inline(__always)
    func rank(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> UInt32 {
        let h = Self.hash(bytes, count)
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let slot = slots[s]
            if slot.length == 0 { return Self.missing }
            if slot.hash == h, Int(slot.length) == count, Self.equal(arena.baseAddress! + Int(slot.offset), bytes, count) {
                return slot.rank
            }
            s = (s + 1) & mask
        }
    }

    /// Byte comparison, inlined: most tokens are shorter than 16 bytes, where calling memcmp costs
    /// more than the comparison.
    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        while i + 8 <= n {
            if ra.loadUnaligned(fromByteOffset: i, as: UInt64.self) != rb.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// The rank of a two-byte string, from a direct table (BPE asks for these most).
    @inline(__always)
    func pairRank(_ first: UInt8, _ second: UInt8) -> UInt32 { pairs[Int(first) << 8 | Int(second)] }

    /// The bytes of a rank (which must be in use).
    @inline(__always)
    func bytes(of rank: Int) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: arena.baseAddress! + tokenOffsets[rank], count: tokenLengths[rank])
    }

    /// 64-bit hash of a short byte string: 8-byte words mixed by multiply and xor-shift.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        if i < n {
            var tail: UInt64 = 0
            for k in 0..<(n - i) { tail |= UInt64(p[i + k]) << (8 * UInt64(k)) }
            h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        }
        return h ^ (h >> 29)
    }
}
