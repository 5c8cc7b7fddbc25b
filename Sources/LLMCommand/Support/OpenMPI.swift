// Open MPI, loaded at run time: `mpirun -np N llm train ...` trains data-parallel (Training/DataParallel.swift)
// with no build-time dependency on MPI. Under mpirun (OMPI_COMM_WORLD_SIZE is set) the library is opened with
// dlopen (RTLD_NOW | RTLD_GLOBAL: Debian's Open MPI loads plugins that look for its symbols in the global
// namespace), the few functions we call are found with dlsym, and so are the predefined handles, which in Open MPI
// are the addresses of global objects (MPI_COMM_WORLD is &ompi_mpi_comm_world, MPI_FLOAT &ompi_mpi_float, ...).
// MPICH's handles are integers instead, so it is refused by name.
//
// Gradient sums are non-blocking MPI_Iallreduce calls (MPI_Ireduce_scatter_block with --zero 1, then MPI_Allgather
// of the updated weights), one per ~25 MB bucket, started during the backward pass and
// advanced by MPI_Test from it (Training/GradientAveraging.swift says why polling); the few small sums (losses,
// the stop flag, the parameter digest) are blocking MPI_Allreduce. A failing rank calls MPI_Abort, which brings the
// whole job down instead of leaving the others waiting in a collective.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Training

final class OpenMPI: DataParallelGroup {
    private typealias InitFn = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
    private typealias RankFn = @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>) -> Int32
    private typealias AllreduceFn = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, OpaquePointer?,
                                                     OpaquePointer?, OpaquePointer?) -> Int32
    private typealias IallreduceFn = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, OpaquePointer?,
                                                      OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias IreduceScatterFn = @convention(c) (UnsafeRawPointer?, UnsafeMutableRawPointer?, Int32, OpaquePointer?,
                                                          OpaquePointer?, OpaquePointer?, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    private typealias AllgatherFn = @convention(c) (UnsafeRawPointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?, Int32,
                                                    OpaquePointer?, OpaquePointer?) -> Int32
    // MPI_Test(request, flag, status) and MPI_Wait(request, status); MPI_STATUS_IGNORE is a null pointer in Open MPI.
    fileprivate typealias TestFn = @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeMutablePointer<Int32>,
                                                   UnsafeMutableRawPointer?) -> Int32
    fileprivate typealias WaitFn = @convention(c) (UnsafeMutablePointer<OpaquePointer?>, UnsafeMutableRawPointer?) -> Int32
    private typealias AbortFn = @convention(c) (OpaquePointer?, Int32) -> Int32
    private typealias FinalizeFn = @convention(c) () -> Int32

    /// The job's MPI, once started (for MPI_Abort on a fatal error).
    nonisolated(unsafe) static var current: OpenMPI?

    let rank: Int, size: Int
    private let world: OpaquePointer, float: OpaquePointer, double: OpaquePointer, sumOp: OpaquePointer, maxOp: OpaquePointer
    private let allreduce: AllreduceFn, iallreduce: IallreduceFn, abortFn: AbortFn, finalizeFn: FinalizeFn
    private let ireduceScatter: IreduceScatterFn, allgather: AllgatherFn
    fileprivate let testFn: TestFn, waitFn: WaitFn
    private static var inPlace: UnsafeRawPointer? { UnsafeRawPointer(bitPattern: 1) } // Open MPI's MPI_IN_PLACE

    /// Starts MPI when this process runs under Open MPI's mpirun; nil when it does not.
    static func startIfLaunched() throws -> OpenMPI? {
        let environment = ProcessInfo.processInfo.environment
        guard let count = environment["OMPI_COMM_WORLD_SIZE"] else {
            if environment["PMI_RANK"] != nil || environment["PMI_SIZE"] != nil || environment["HYDRA_CONTROL_FD"] != nil {
                throw CommandError("this looks like MPICH's mpiexec; data-parallel training runs on Open MPI (Debian's openmpi-bin), whose handles it uses")
            }
            return nil
        }
        guard let handle = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL) ?? dlopen("libmpi.dylib", RTLD_NOW | RTLD_GLOBAL) else {
            throw CommandError("running under mpirun (OMPI_COMM_WORLD_SIZE=\(count)) but Open MPI's library libmpi.so.40 cannot be loaded; " +
                               "install Debian's libopenmpi3 (apt-get install openmpi-bin)")
        }
        func symbol(_ name: String) throws -> UnsafeMutableRawPointer {
            guard let s = dlsym(handle, name) else { throw CommandError("Open MPI's library has no \(name); is it Open MPI 4 or later?") }
            return s
        }
        let mpi = try OpenMPI(symbol)
        current = mpi
        return mpi
    }

    private init(_ symbol: (String) throws -> UnsafeMutableRawPointer) throws {
        let initialize = unsafeBitCast(try symbol("MPI_Init"), to: InitFn.self)
        world = OpaquePointer(try symbol("ompi_mpi_comm_world"))
        float = OpaquePointer(try symbol("ompi_mpi_float"))
        double = OpaquePointer(try symbol("ompi_mpi_double"))
        sumOp = OpaquePointer(try symbol("ompi_mpi_op_sum"))
        maxOp = OpaquePointer(try symbol("ompi_mpi_op_max"))
        allreduce = unsafeBitCast(try symbol("MPI_Allreduce"), to: AllreduceFn.self)
        iallreduce = unsafeBitCast(try symbol("MPI_Iallreduce"), to: IallreduceFn.self)
        testFn = unsafeBitCast(try symbol("MPI_Test"), to: TestFn.self)
        ireduceScatter = unsafeBitCast(try symbol("MPI_Ireduce_scatter_block"), to: IreduceScatterFn.self)
        allgather = unsafeBitCast(try symbol("MPI_Allgather"), to: AllgatherFn.self)
        waitFn = unsafeBitCast(try symbol("MPI_Wait"), to: WaitFn.self)
        abortFn = unsafeBitCast(try symbol("MPI_Abort"), to: AbortFn.self)
        finalizeFn = unsafeBitCast(try symbol("MPI_Finalize"), to: FinalizeFn.self)
        let commRank = unsafeBitCast(try symbol("MPI_Comm_rank"), to: RankFn.self)
        let commSize = unsafeBitCast(try symbol("MPI_Comm_size"), to: RankFn.self)
        guard initialize(nil, nil) == 0 else { throw CommandError("MPI_Init failed") }
        var r: Int32 = 0, n: Int32 = 0
        _ = commRank(world, &r)
        _ = commSize(world, &n)
        (rank, size) = (Int(r), Int(n))
    }

    func sum(_ values: UnsafeMutableBufferPointer<Float>) {
        check(allreduce(Self.inPlace, values.baseAddress, Int32(values.count), float, sumOp, world), "MPI_Allreduce")
    }

    func startSum(_ values: UnsafeMutableBufferPointer<Float>) -> PendingSum {
        let pending = Request(self)
        check(iallreduce(Self.inPlace, values.baseAddress, Int32(values.count), float, sumOp, world, &pending.handle), "MPI_Iallreduce")
        return pending
    }

    func startReduceScatter(_ values: UnsafeMutableBufferPointer<Float>, into shard: UnsafeMutableBufferPointer<Float>) -> PendingSum {
        let pending = Request(self)
        check(ireduceScatter(values.baseAddress, shard.baseAddress, Int32(shard.count), float, sumOp, world, &pending.handle),
              "MPI_Ireduce_scatter_block")
        return pending
    }

    func allGather(_ values: UnsafeMutableBufferPointer<Float>) {
        check(allgather(Self.inPlace, 0, float, values.baseAddress, Int32(values.count / size), float, world), "MPI_Allgather")
    }

    /// An MPI_Request of a non-blocking sum (Open MPI sets it to MPI_REQUEST_NULL when complete).
    private final class Request: PendingSum {
        let mpi: OpenMPI
        var handle: OpaquePointer?
        var done = false

        init(_ mpi: OpenMPI) { self.mpi = mpi }

        func test() -> Bool {
            guard !done else { return true }
            var flag: Int32 = 0
            mpi.check(mpi.testFn(&handle, &flag, nil), "MPI_Test")
            done = flag != 0
            return done
        }

        func wait() {
            guard !done else { return }
            mpi.check(mpi.waitFn(&handle, nil), "MPI_Wait")
            done = true
        }
    }

    func sum(_ values: inout [Double]) {
        let n = Int32(values.count)
        values.withUnsafeMutableBufferPointer { check(allreduce(Self.inPlace, $0.baseAddress, n, double, sumOp, world), "MPI_Allreduce") }
    }

    func maximum(_ values: inout [Double]) {
        let n = Int32(values.count)
        values.withUnsafeMutableBufferPointer { check(allreduce(Self.inPlace, $0.baseAddress, n, double, maxOp, world), "MPI_Allreduce") }
    }

    /// Ends the whole job (every rank) with `code`.
    func abort(_ code: Int32) -> Never {
        _ = abortFn(world, code)
        exit(code)
    }

    func finalize() { _ = finalizeFn() }

    fileprivate func check(_ result: Int32, _ call: String) {
        guard result != 0 else { return }
        printError("Error: \(call) failed with code \(result) on rank \(rank)")
        abort(1)
    }
}
