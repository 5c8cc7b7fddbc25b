// File-system errors from Foundation as one sentence (used by checkpoints, output checks and `llm`'s main).

import Foundation

/// File-system errors as a sentence a user understands (what Foundation prints for them is a dump of
/// its internal dictionary): "permission denied", "no space left on the device", ...
public enum FileProblem {
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { // our own errors are sentences already
            return "\(error)"
        }
        let path = ns.userInfo[NSFilePathErrorKey] as? String ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
        var code: Int32?
        if ns.domain == NSPOSIXErrorDomain { code = Int32(ns.code) }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            code = Int32(underlying.code)
        }
        let reason: String
        if let code {
            reason = String(cString: strerror(code)).lowercased()
        } else if ns.domain == NSCocoaErrorDomain {
            switch CocoaError.Code(rawValue: ns.code) {
            case .fileWriteNoPermission, .fileReadNoPermission: reason = "permission denied"
            case .fileWriteOutOfSpace: reason = "no space left on device"
            case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file or directory"
            case .fileWriteFileExists: reason = "it already exists"
            case .fileWriteVolumeReadOnly: reason = "the file system is read-only"
            case .fileReadCorruptFile: reason = "the file is damaged or not in the expected format"
            case .fileReadInapplicableStringEncoding: reason = "the file is not valid text"
            default: reason = "the file system refused it (error \(ns.code))"
            }
        } else {
            reason = ns.localizedDescription
        }
        return path.map { "\($0): \(reason)" } ?? reason
    }
}
