// A minimal SVG line chart (loss curves and the like): axes with round tick values, one coloured
// polyline per series, a legend. SVG because it needs no library and every browser shows it.

import Foundation

struct LinePlot {
    struct Series {
        let name: String
        let points: [(x: Double, y: Double)]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series] = []

    private static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]

    func svg(width: Double = 720, height: Double = 420) -> String {
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let (x0, x1) = Self.range(all.map(\.x)), (y0, y1) = Self.range(all.map(\.y))
        let left = 70.0, right = 20.0, top = 40.0, bottom = 55.0
        let plotW = width - left - right, plotH = height - top - bottom
        func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(width / 2)" y="22" text-anchor="middle" font-size="15">\(escapeXML(title))</text>

        """
        for t in Self.ticks(y0, y1) {
            out += "<line x1=\"\(left)\" x2=\"\(left + plotW)\" y1=\"\(py(t))\" y2=\"\(py(t))\" stroke=\"#e5e5e5\"/>"
            out += "<text x=\"\(left - 6)\" y=\"\(py(t) + 4)\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        for t in Self.ticks(x0, x1) {
            out += "<line x1=\"\(px(t))\" x2=\"\(px(t))\" y1=\"\(top)\" y2=\"\(top + plotH)\" stroke=\"#e5e5e5\"/>"
            out += "<text x=\"\(px(t))\" y=\"\(top + plotH + 18)\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        out += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(left + plotW / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
        out += "<text transform=\"translate(18 \(top + plotH / 2)) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel))</text>\n"
        for (i, s) in series.enumerated() {
            let color = Self.colors[i % Self.colors.count]
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite }
                .map { String(format: "%.1f,%.1f", px($0.x), py($0.y)) }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(pts)\"/>\n"
            let ly = top + 14 + Double(i) * 18
            out += "<line x1=\"\(left + plotW - 150)\" x2=\"\(left + plotW - 128)\" y1=\"\(ly)\" y2=\"\(ly)\" stroke=\"\(color)\" stroke-width=\"3\"/>"
            out += "<text x=\"\(left + plotW - 122)\" y=\"\(ly + 4)\">\(escapeXML(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    /// Writes the chart atomically (temporary file, then rename).
    func write(to url: URL) throws {
        try svg().data(using: .utf8)!.write(to: url, options: .atomic)
    }

    private static func range(_ values: [Double]) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (0, 1) }
        if lo == hi { return (lo - 1, hi + 1) }
        let pad = (hi - lo) * 0.04
        return (lo - pad, hi + pad)
    }

    /// About five round values (1, 2 or 5 times a power of ten apart) inside [lo, hi].
    private static func ticks(_ lo: Double, _ hi: Double) -> [Double] {
        let raw = (hi - lo) / 5, magnitude = Foundation.pow(10, (Foundation.log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var t = (lo / step).rounded(.up) * step, result: [Double] = []
        while t <= hi { result.append(t); t += step }
        return result
    }

    private static func label(_ v: Double) -> String {
        if abs(v) < 1e-12 { return "0" } // not "-0"
        if abs(v) >= 10_000 { return String(format: "%.0fk", v / 1000) }
        return v == v.rounded() ? String(format: "%.0f", v) : String(format: "%.2g", v)
    }
}

/// Text made safe inside SVG/XML elements and attributes.
func escapeXML(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
