// ZeRO stage 1 (Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models", 2020;
// llm.c's `-z 1`): AdamW's two moments are 8 bytes per parameter, twice the weights; data-parallel processes that
// each keep all of them hold N copies of the same numbers. Sharded, process r keeps the moments of its block of each
// gradient bucket only (1/N of them): the gradients are reduce-scattered (r receives the averaged gradient of its
// block), r updates its block of the weights, and the blocks are all-gathered so every process holds every weight
// again. The bytes moved per step are those of an all-reduce (which is a reduce-scatter then an all-gather), so the
// memory comes at no cost in communication.
//
// Checkpoints stay independent of N: before one is written the moments are gathered into whole tensors, so a run
// resumes with any number of processes, sharded or not.

import Foundation
import NN
import Tensors

/// This process's part of AdamW under ZeRO-1: the moments of its segments of the parameters (GradientAverager's
/// `shardViews`, views into the parameters' memory, so its updates land in the model).
final class OptimizerShard {
    private let averager: GradientAverager
    private let group: DataParallelGroup
    private let adam: AdamW

    init(averager: GradientAverager, group: DataParallelGroup, like full: AdamW) {
        precondition(averager.sharded, "an optimizer shard needs sharded gradient buckets")
        self.averager = averager
        self.group = group
        adam = AdamW(parameters: averager.shardViews, learningRate: full.learningRate, beta1: full.beta1, beta2: full.beta2,
                     eps: full.eps, weightDecay: full.weightDecay)
    }

    /// One AdamW step of this process's segments from their averaged gradients (clipped to `maxNorm` by the norm of
    /// the whole gradient, summed over the processes), then every process gets every updated weight.
    func update(learningRate: Float, clip maxNorm: Float?) {
        if let maxNorm {
            var squares = [averager.shardViews.reduce(0.0) { total, view in
                view.grad!.withUnsafeBufferPointer { g in g.reduce(total) { $0 + Double($1) * Double($1) } }
            }]
            group.sum(&squares)
            let norm = Float(squares[0].squareRoot())
            if norm > maxNorm, norm.isFinite { averager.shardViews.forEach { $0.scaleGrad(by: maxNorm / (norm + 1e-6)) } }
        }
        adam.learningRate = learningRate
        adam.update()
        averager.gatherParameters()
    }

    /// The whole optimizer state, per parameter, gathered from every process (all must call it together); nil on
    /// all but the one that `keeps` it (the one writing the checkpoint).
    func gatheredState(keep: Bool) -> (step: Int, first: [[Float]], second: [[Float]])? {
        let state = adam.state
        let first = averager.gatherSegments(state.first, keep: keep), second = averager.gatherSegments(state.second, keep: keep)
        guard let first, let second else { return nil }
        return (state.step, first, second)
    }

    /// Takes this process's segments of a whole optimizer state (per parameter, as a checkpoint holds it).
    func restore(step: Int, first: [[Float]], second: [[Float]]) throws {
        func mine(_ whole: [[Float]]) -> [[Float]] {
            averager.segments.map { Array(whole[$0.parameter][$0.start..<($0.start + $0.count)]) }
        }
        try adam.restore(step: step, first: mine(first), second: mine(second))
    }
}
