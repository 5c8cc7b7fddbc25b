// Module: the base of every layer, as in PyTorch. A module owns parameters (tensors that require
// grad) and child modules, names them the way checkpoints do ("h.0.attn.c_attn.weight"), and
// switches between training and evaluation (dropout is active only in training).
//
// Subclasses list their parameters and children explicitly; no reflection, so what a module holds is
// written where it is declared.

import Tensors

open class Module {
    public private(set) var isTraining = true

    public init() {}

    /// This module's own parameters, by local name.
    open var ownParameters: [(String, Tensor)] { [] }
    /// Child modules, by local name.
    open var children: [(String, Module)] { [] }

    /// Every parameter of this module and its children, with dotted names.
    public var namedParameters: [(String, Tensor)] {
        ownParameters + children.flatMap { name, child in child.namedParameters.map { ("\(name).\($0.0)", $0.1) } }
    }

    public var parameters: [Tensor] { namedParameters.map(\.1) }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Switches this module and its children to training (`true`) or evaluation mode.
    public func train(_ on: Bool = true) {
        isTraining = on
        for (_, child) in children { child.train(on) }
    }

    public func eval() { train(false) }

    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }

    /// Every module in this tree, depth first (this one first).
    public var modules: [Module] { [self] + children.flatMap { $0.1.modules } }

    /// Gives every Dropout in the tree a fresh generator derived from `seed` and its place in the
    /// tree. Trainers call it at each step with a seed made from the step number, so a run resumed
    /// from a checkpoint draws the same dropout masks as one that never stopped. `firstRow`: this process's
    /// rows of the batch begin there (data-parallel training; see Dropout.firstRow).
    public func reseedDropout(_ seed: UInt64, firstRow: Int = 0) {
        for (i, module) in modules.enumerated() {
            (module as? Dropout)?.reseed(seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i), firstRow: firstRow)
        }
    }
}
