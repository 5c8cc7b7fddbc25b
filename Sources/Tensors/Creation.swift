// Ways to make a tensor: constants, ranges and seeded random values.

public enum Initialization {
    @TaskLocal static var skipRandom = false

    /// Builds models whose random initial values are about to be replaced (a checkpoint loader):
    /// inside `body`, `uniform` and `normal` return zeros instead of drawing 100M random numbers.
    public static func withoutRandomValues<R>(_ body: () throws -> R) rethrows -> R {
        try $skipRandom.withValue(true, operation: body)
    }
}

extension Tensor {
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(shape: shape, storage: Storage(zeros: shapeCount(shape)), requiresGrad: requiresGrad)
    }

    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        full(shape, value: 1, requiresGrad: requiresGrad)
    }

    public static func full(_ shape: [Int], value: Float, requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.pointer.initialize(repeating: value, count: t.count)
        t.requiresGrad = requiresGrad
        return t
    }

    /// [start, start + step, ...) below `end`, as PyTorch's `arange`.
    public static func arange(_ start: Float = 0, _ end: Float, step: Float = 1) -> Tensor {
        precondition(step != 0, "arange step must not be zero")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor((0..<n).map { start + Float($0) * step })
    }

    /// Values uniform in [low, high).
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               generator: inout SeededGenerator, requiresGrad: Bool = false) -> Tensor {
        if Initialization.skipRandom { return zeros(shape, requiresGrad: requiresGrad) }
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.pointer[i] = low + (high - low) * generator.nextUniform() }
        t.requiresGrad = requiresGrad
        return t
    }

    /// Values from a normal distribution.
    public static func normal(_ shape: [Int], mean: Float = 0, std: Float = 1,
                              generator: inout SeededGenerator, requiresGrad: Bool = false) -> Tensor {
        if Initialization.skipRandom { return zeros(shape, requiresGrad: requiresGrad) }
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.pointer[i] = mean + std * generator.nextNormal() }
        t.requiresGrad = requiresGrad
        return t
    }
}
