// Errors in OpenAI's shape — {"error": {"message", "type", "param", "code"}} — with the status code a
// client library maps to its exception (400 invalid request, 401 authentication, 404 not found, 413 too
// large, 429 over capacity, 500 our fault).

import Foundation
import Hummingbird
import NIOCore

struct APIError: Error, Sendable {
    let status: HTTPResponse.Status
    let message: String
    let type: String
    let param: String?
    let code: String?

    static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    static func notFound(_ message: String, code: String = "not_found") -> APIError {
        APIError(status: .notFound, message: message, type: "invalid_request_error", param: nil, code: code)
    }

    static let unauthorized = APIError(status: .unauthorized, message: "Incorrect or missing API key: send it as \"Authorization: Bearer KEY\".",
                                       type: "invalid_request_error", param: nil, code: "invalid_api_key")

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "The request body is over the limit of \(limit) bytes.",
                 type: "invalid_request_error", param: nil, code: "request_too_large")
    }

    static func overloaded(_ message: String) -> APIError {
        APIError(status: .tooManyRequests, message: message, type: "server_error", param: nil, code: "rate_limit_exceeded")
    }

    var json: [String: Any] {
        ["error": ["message": message, "type": type, "param": param.map { $0 as Any } ?? NSNull(), "code": code.map { $0 as Any } ?? NSNull()]]
    }

    var response: Response {
        jsonResponse(json, status: status)
    }
}

/// A JSON response (content-type application/json).
func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

/// Turns every error a handler throws into OpenAI's shape, so no client ever sees an HTML page or a stack.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch is NIOTooManyBytesError {
            return APIError.tooLarge(ServerLimits.maxBodyBytes).response
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: return APIError.notFound("No route for \(request.method) \(request.uri.path).", code: "unknown_url").response
            case .contentTooLarge: return APIError.tooLarge(ServerLimits.maxBodyBytes).response
            case .methodNotAllowed: return APIError(status: .methodNotAllowed, message: "\(request.method) is not allowed on \(request.uri.path).",
                                                    type: "invalid_request_error", param: nil, code: nil).response
            default: return APIError(status: error.status, message: error.body ?? "\(error.status)", type: "invalid_request_error",
                                     param: nil, code: nil).response
            }
        } catch {
            return APIError(status: .internalServerError, message: "Internal error: \(error)", type: "server_error", param: nil, code: nil).response
        }
    }
}

enum ServerLimits {
    /// Largest request body accepted (a long prompt as JSON is well under this).
    static let maxBodyBytes = 4 << 20
}
