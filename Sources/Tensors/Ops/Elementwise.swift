// Elementwise arithmetic with broadcasting (+ - * /), unary math (exp, log, sqrt, tanh, pow, ...),
// comparisons, `where` and masked fill, and the triangular masks tril/triu.
// Each op's backward sits right under its forward.

import CKernels
import Foundation

enum BinaryOperator { case add, subtract, multiply, divide }

extension Tensor {
    static func binary(_ op: BinaryOperator, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = broadcastShape(a.shape, b.shape)
        let out = Tensor(uninitializedShape: shape)
        let pa = a.pointer, pb = b.pointer, po = out.pointer
        if a.shape == b.shape {
            let n = out.count
            switch op {
            case .add: for i in 0..<n { po[i] = pa[i] + pb[i] }
            case .subtract: for i in 0..<n { po[i] = pa[i] - pb[i] }
            case .multiply: for i in 0..<n { po[i] = pa[i] * pb[i] }
            case .divide: for i in 0..<n { po[i] = pa[i] / pb[i] }
            }
        } else {
            let strides = [broadcastStrides(a.shape, to: shape), broadcastStrides(b.shape, to: shape)]
            forEachBroadcastRow(shape, strides) { o, off, length, step in
                for i in 0..<length {
                    let x = pa[off[0] + i * step[0]], y = pb[off[1] + i * step[1]]
                    switch op {
                    case .add: po[o + i] = x + y
                    case .subtract: po[o + i] = x - y
                    case .multiply: po[o + i] = x * y
                    case .divide: po[o + i] = x / y
                    }
                }
            }
        }
        return out.recording("\(op)", [a, b]) { output in
            let g = output.gradPointer()
            if op == .add && a.shape == b.shape { // residual connections: the gradient passes through to both
                a.addGrad(g)
                b.addGrad(g)
                return
            }
            let strides = [broadcastStrides(a.shape, to: shape), broadcastStrides(b.shape, to: shape)]
            // d(x op y)/dx and /dy, summed over broadcast dimensions by the zero strides.
            if a.requiresGrad {
                let ga = a.gradPointer()
                forEachBroadcastRow(shape, strides) { o, off, length, step in
                    for i in 0..<length {
                        let y = pb[off[1] + i * step[1]]
                        let d: Float
                        switch op {
                        case .add, .subtract: d = g[o + i]
                        case .multiply: d = g[o + i] * y
                        case .divide: d = g[o + i] / y
                        }
                        ga[off[0] + i * step[0]] += d
                    }
                }
            }
            if b.requiresGrad {
                let gb = b.gradPointer()
                forEachBroadcastRow(shape, strides) { o, off, length, step in
                    for i in 0..<length {
                        let x = pa[off[0] + i * step[0]], y = pb[off[1] + i * step[1]]
                        let d: Float
                        switch op {
                        case .add: d = g[o + i]
                        case .subtract: d = -g[o + i]
                        case .multiply: d = g[o + i] * x
                        case .divide: d = -g[o + i] * x / (y * y)
                        }
                        gb[off[1] + i * step[1]] += d
                    }
                }
            }
        }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(.subtract, a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(.multiply, a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(.divide, a, b) }
    public static func + (a: Tensor, b: Float) -> Tensor { binary(.add, a, Tensor(scalar: b)) }
    public static func - (a: Tensor, b: Float) -> Tensor { binary(.subtract, a, Tensor(scalar: b)) }
    public static func * (a: Tensor, b: Float) -> Tensor { binary(.multiply, a, Tensor(scalar: b)) }
    public static func / (a: Tensor, b: Float) -> Tensor { binary(.divide, a, Tensor(scalar: b)) }
    public static func + (a: Float, b: Tensor) -> Tensor { binary(.add, Tensor(scalar: a), b) }
    public static func - (a: Float, b: Tensor) -> Tensor { binary(.subtract, Tensor(scalar: a), b) }
    public static func * (a: Float, b: Tensor) -> Tensor { binary(.multiply, Tensor(scalar: a), b) }
    public static func / (a: Float, b: Tensor) -> Tensor { binary(.divide, Tensor(scalar: a), b) }
    public static prefix func - (a: Tensor) -> Tensor { a * -1 }

    // MARK: Unary math

    /// Applies `f` elementwise; `derivative(x, y)` gives dy/dx from the input and output values.
    func unary(_ name: String, _ f: (Float) -> Float,
               derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let src = pointer, dst = out.pointer
        for i in 0..<count { dst[i] = f(src[i]) }
        return out.recording(name, [self]) { output in
            let g = output.gradPointer(), y = output.pointer
            self.updateGrad { dx in
                for i in 0..<self.count { dx[i] += g[i] * derivative(src[i], y[i]) }
            }
        }
    }

    public func exp() -> Tensor { unary("exp", { Foundation.exp($0) }, derivative: { _, y in y }) }
    public func log() -> Tensor { unary("log", { Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    public func sqrt() -> Tensor { unary("sqrt", { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    public func tanh() -> Tensor { vectorised("tanh", llm_tanh_forward) { y in 1 - y * y } }
    public func pow(_ exponent: Float) -> Tensor {
        unary("pow", { Foundation.pow($0, exponent) },
              derivative: { x, _ in exponent * Foundation.pow(x, exponent - 1) })
    }
    public func relu() -> Tensor { unary("relu", { Swift.max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 }) }
    public func sigmoid() -> Tensor { vectorised("sigmoid", llm_sigmoid_forward) { y in y * (1 - y) } }

    /// An activation computed by a vectorised C kernel, whose derivative is a function of its output.
    func vectorised(_ name: String, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
                    derivative: @escaping (_ y: Float) -> Float) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        kernel(pointer, out.pointer, count)
        return out.recording(name, [self]) { output in
            let g = output.gradPointer(), y = output.pointer
            self.updateGrad { dx in
                for i in 0..<self.count { dx[i] += g[i] * derivative(y[i]) }
            }
        }
    }

    // MARK: Comparisons (no gradient: the result is piecewise constant)

    func compare(_ other: Tensor, _ test: (Float, Float) -> Bool) -> Tensor {
        let shape = broadcastShape(self.shape, other.shape)
        let out = Tensor(uninitializedShape: shape)
        let pa = pointer, pb = other.pointer, po = out.pointer
        let strides = [broadcastStrides(self.shape, to: shape), broadcastStrides(other.shape, to: shape)]
        forEachBroadcastRow(shape, strides) { o, off, length, step in
            for i in 0..<length { po[o + i] = test(pa[off[0] + i * step[0]], pb[off[1] + i * step[1]]) ? 1 : 0 }
        }
        return out
    }

    /// 1 where equal, else 0 (broadcasting).
    public func eq(_ other: Tensor) -> Tensor { compare(other, ==) }
    public func ne(_ other: Tensor) -> Tensor { compare(other, !=) }
    public func lt(_ other: Tensor) -> Tensor { compare(other, <) }
    public func le(_ other: Tensor) -> Tensor { compare(other, <=) }
    public func gt(_ other: Tensor) -> Tensor { compare(other, >) }
    public func ge(_ other: Tensor) -> Tensor { compare(other, >=) }

    // MARK: Selection

    /// `a` where `condition` is non-zero, else `b`; all three broadcast together. Gradients flow to
    /// the branch that was taken.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = broadcastShape(broadcastShape(condition.shape, a.shape), b.shape)
        let out = Tensor(uninitializedShape: shape)
        let strides = [condition.shape, a.shape, b.shape].map { broadcastStrides($0, to: shape) }
        let pc = condition.pointer, pa = a.pointer, pb = b.pointer, po = out.pointer
        forEachBroadcastRow(shape, strides) { o, off, length, step in
            for i in 0..<length {
                po[o + i] = pc[off[0] + i * step[0]] != 0 ? pa[off[1] + i * step[1]] : pb[off[2] + i * step[2]]
            }
        }
        return out.recording("where", [a, b]) { output in
            // Read the condition through the tensor so the closure keeps it alive: it is not an input
            // of the node (it gets no gradient), and its storage would otherwise be freed.
            let pc = condition.pointer
            let g = output.gradPointer()
            for (k, operand) in [(1, a), (2, b)] where operand.requiresGrad {
                let dx = operand.gradPointer()
                forEachBroadcastRow(shape, strides) { o, off, length, step in
                    for i in 0..<length where (pc[off[0] + i * step[0]] != 0) == (k == 1) {
                        dx[off[k] + i * step[k]] += g[o + i]
                    }
                }
            }
        }
    }

    /// `value` where `mask` is non-zero, else this tensor (mask broadcasts to this shape).
    public func maskedFill(_ mask: Tensor, value: Float) -> Tensor {
        precondition(broadcastShape(mask.shape, shape) == shape, "mask of shape \(mask.shape) does not broadcast to \(shape)")
        return Tensor.where(mask, Tensor(scalar: value), self)
    }

    // MARK: Triangular masks over the last two dimensions

    /// Keeps elements on and below diagonal `k` (j - i <= k) of the last two dimensions, zeroes the rest.
    public func tril(_ k: Int = 0) -> Tensor { triangle("tril") { i, j in j - i <= k } }
    /// Keeps elements on and above diagonal `k` (j - i >= k), zeroes the rest.
    public func triu(_ k: Int = 0) -> Tensor { triangle("triu") { i, j in j - i >= k } }

    private func triangle(_ name: String, keep: @escaping (Int, Int) -> Bool) -> Tensor {
        precondition(rank >= 2, "\(name) needs at least 2 dimensions, got shape \(shape)")
        let rows = shape[rank - 2], cols = shape[rank - 1]
        let out = Tensor(uninitializedShape: shape)
        let src = pointer, dst = out.pointer
        for m in 0..<(rows * cols == 0 ? 0 : count / (rows * cols)) {
            for i in 0..<rows {
                for j in 0..<cols {
                    let o = (m * rows + i) * cols + j
                    dst[o] = keep(i, j) ? src[o] : 0
                }
            }
        }
        return out.recording(name, [self]) { output in
            let g = output.gradPointer()
            self.updateGrad { dx in
                for o in 0..<self.count where keep((o / cols) % rows, o % cols) { dx[o] += g[o] }
            }
        }
    }
}
