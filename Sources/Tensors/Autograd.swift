// Reverse-mode automatic differentiation.
//
// Every operation that has an input requiring grad records a `GradientNode` on its output: the inputs
// and a closure that adds the output's gradient, pushed through the operation, into the inputs'
// gradients. `backward()` orders the graph topologically and runs the closures from the loss back to
// the leaves. Gradients accumulate (+=) across calls until `zeroGrad()`, as in PyTorch; intermediate
// (non-leaf) gradients are freed as soon as they have been passed on.

public enum Autograd {
    @TaskLocal static var isRecording = true

    /// Whether operations currently record the graph (false inside `withNoGrad`).
    public static var isGradEnabled: Bool { isRecording }

    /// Runs `body` without recording operations: for inference and for optimizer updates.
    public static func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
        try $isRecording.withValue(false, operation: body)
    }
}

extension Tensor {
    /// Makes `output` (a fresh tensor computed from `inputs`) a graph node when any input requires grad
    /// and recording is on. Returns `output` for chaining.
    @discardableResult
    func recording(_ name: String, _ inputs: [Tensor], backward: @escaping (_ output: Tensor) -> Void) -> Tensor {
        guard Autograd.isRecording, inputs.contains(where: { $0.requiresGrad }) else { return self }
        requiresGrad = true
        node = GradientNode(name: name, inputs: inputs, backward: backward)
        return self
    }

    /// Computes the gradient of this scalar with respect to every tensor it was computed from that
    /// requires grad, adding into their `grad`.
    public func backward() { backward(leafDone: nil) }

    /// `backward()`, calling `leafDone` with each leaf (a parameter) as soon as its gradient is complete, while the
    /// rest of the pass still runs: data-parallel training starts summing those gradients over the processes then.
    /// A leaf is complete when the walk reaches it: every tensor computed from it comes before it in the walk.
    public func backward(leafDone: ((Tensor) -> Void)?) {
        precondition(count == 1, "backward() needs a scalar (one element), got shape \(shape)")
        precondition(requiresGrad, "backward() on a tensor that does not require grad")
        let order = topologicalOrder()
        gradPointer()[0] += 1
        for tensor in order.reversed() {
            guard let node = tensor.node else {
                leafDone?(tensor)
                continue
            }
            guard tensor.gradStorage != nil else { continue }
            node.backward(tensor)
            tensor.gradStorage = nil // an intermediate's gradient is not needed once passed on
        }
    }

    /// Tensors reachable from this one through graph nodes, each after all of its inputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative depth-first search: deep graphs (long training unrolls) would overflow the stack.
        var stack: [(tensor: Tensor, expanded: Bool)] = [(self, false)]
        while let (tensor, expanded) = stack.popLast() {
            if expanded {
                order.append(tensor)
                continue
            }
            guard visited.insert(ObjectIdentifier(tensor)).inserted else { continue }
            stack.append((tensor, true))
            for input in tensor.node?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }

    /// Multiplies the accumulated gradient by `factor` (gradient clipping, accumulation).
    public func scaleGrad(by factor: Float) {
        guard let g = gradStorage else { return }
        for i in 0..<count { g.pointer[i] *= factor }
    }

    /// Adds `values` (same element count) into this tensor's gradient, if it requires grad (a copy
    /// when it is the first contribution).
    func addGrad(_ values: UnsafePointer<Float>) {
        let n = count
        writeGrad { g, add in
            if add { for i in 0..<n { g[i] += values[i] } } else { g.update(from: values, count: n) }
        }
    }

    /// Adds into this tensor's gradient through a closure that receives the gradient buffer.
    func updateGrad(_ body: (UnsafeMutablePointer<Float>) -> Void) {
        guard requiresGrad else { return }
        body(gradPointer())
    }

    /// For backward closures that compute a whole contribution in one go (a GEMM, a row kernel): the
    /// gradient buffer and whether to add into it. When this is the first contribution the buffer is
    /// new and uninitialised, `accumulate` is false and `body` must write every element: a GEMM then
    /// runs with beta = 0, which saves zero-filling the buffer and reading it back (400 MB each for
    /// GPT-2's logits at batch 8 x 256).
    func writeGrad(_ body: (_ gradient: UnsafeMutablePointer<Float>, _ accumulate: Bool) -> Void) {
        guard requiresGrad else { return }
        if let g = gradStorage {
            body(g.pointer, true)
        } else {
            let g = Storage(count: count)
            gradStorage = g
            body(g.pointer, false)
        }
    }
}
