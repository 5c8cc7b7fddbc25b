// The sliding-window data loader of chapter 2: the book's first batch, strides, seeded shuffling, bad input.

import Foundation
import Testing
import Tokenizers
import Training

@Suite("Sliding-window data")
struct DataLoaderTests {
    let verdictIDs: [Int] = {
        let url = Bundle.module.url(forResource: "the-verdict", withExtension: "txt")!
        return try! Encoding.named("gpt2").encodeOrdinary(String(contentsOf: url, encoding: .utf8))
    }()

    @Test func firstBatchMatchesTheBook() throws {
        let ds = try SlidingWindowDataset(tokens: verdictIDs, maxLength: 4, stride: 1)
        let batch = try DataLoader(ds, batchSize: 1).batches(epoch: 0)
        #expect(batch[0].inputs == [40, 367, 2885, 1464])
        #expect(batch[0].targets == [367, 2885, 1464, 1807])
        #expect(batch[1].inputs == [367, 2885, 1464, 1807])
    }

    @Test func strideEqualToLengthGivesNonOverlappingWindows() throws {
        let ds = try SlidingWindowDataset(tokens: verdictIDs, maxLength: 4, stride: 4)
        let batches = try DataLoader(ds, batchSize: 8).batches(epoch: 0)
        #expect(batches[0].inputs == Array(verdictIDs[0..<32]))
        #expect(ds.count == (verdictIDs.count - 4 + 3) / 4)
    }

    @Test func shuffleIsSeededAndDropLastDrops() throws {
        let ds = try SlidingWindowDataset(tokens: Array(0..<103), maxLength: 4, stride: 4)
        let a = try DataLoader(ds, batchSize: 5, shuffle: true, seed: 7), b = try DataLoader(ds, batchSize: 5, shuffle: true, seed: 7)
        #expect(a.batches(epoch: 0).map(\.inputs) == b.batches(epoch: 0).map(\.inputs))
        #expect(a.batches(epoch: 0).map(\.inputs) != a.batches(epoch: 1).map(\.inputs))
        #expect(ds.count == 25 && a.count == 5)
        let keep = try DataLoader(ds, batchSize: 10, dropLast: false)
        #expect(keep.batches(epoch: 0).last!.batchSize == 5)
    }

    @Test func badInputNamesTheNumbers() {
        #expect(throws: DatasetError.self) { try SlidingWindowDataset(tokens: [1, 2, 3], maxLength: 4, stride: 1) }
        #expect(throws: DatasetError.self) { try SlidingWindowDataset(tokens: Array(0..<10), maxLength: 4, stride: 0) }
        do {
            _ = try SlidingWindowDataset(tokens: Array(0..<2000), maxLength: 2048, stride: 1, contextLimit: 1024)
        } catch {
            #expect("\(error)".contains("2048") && "\(error)".contains("1024"))
        }
    }
}
