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
}
