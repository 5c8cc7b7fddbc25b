// The gate of SwiGLU (Shazeer, 2020), the feed-forward network of Llama and Qwen: two projections of the
// same input, one passed through SiLU (x * sigmoid(x), "swish") and used to gate the other elementwise.
// Fused into one kernel (CKernels/fused.c) so the (B, T, hidden) intermediates are read once.

import CKernels

extension Tensor {
    /// silu(gate) * up, elementwise; both of the same shape.
    public static func swiGLU(gate: Tensor, up: Tensor) -> Tensor {
        precondition(gate.shape == up.shape, "swiGLU needs gate and up of one shape, got \(gate.shape) and \(up.shape)")
        let out = Tensor(uninitializedShape: gate.shape)
        llm_swiglu_forward(gate.pointer, up.pointer, out.pointer, gate.count)
        return out.recording("swiGLU", [gate, up]) { output in
            llm_swiglu_backward(gate.pointer, up.pointer, output.gradPointer(),
                                gate.requiresGrad ? gate.gradPointer() : nil, up.requiresGrad ? up.gradPointer() : nil, gate.count)
        }
    }

    /// SiLU (swish): x * sigmoid(x).
    public func silu() -> Tensor { self * sigmoid() }
}
