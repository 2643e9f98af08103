import HTTP
import Network

extension SwitchServer {
    /// Binds the admin API's listener on the same loops as the ISO 8583 listeners (before they start), with its
    /// own connection limit. Off with `"admin": null`. A port that cannot be bound, or TLS files that cannot
    /// serve, refuse the start like an ISO 8583 listener's.
    func startAdmin() throws(SwitchStartError) {
        guard let admin = configuration.admin else {
            log.info("admin API off (\"admin\": null in the configuration)", priority: .essential)
            return
        }
        var tls: TLSListenerContext?
        if let files = admin.tls {
            do {
                tls = try TLSListenerContext(files: files)
            } catch {
                throw SwitchStartError(message: "admin API \(admin.address): TLS: \(error)")
            }
        }
        let router = AdminAPI.router(ledger: runtime.ledger, metrics: adminMetrics)
        let counters = AdminRequestCounters(routeNames: router.routes.map(\.name), loopCount: group.loops.count)
        adminMetrics.requests.withLock { $0 = counters }
        let server = HTTPServer(router: router, limits: admin.limits, loopCount: group.loops.count, observer: counters)
        let port: UInt16
        do {
            port = try server.listen(on: group, address: admin.address, tls: tls)
        } catch {
            throw SwitchStartError(message: "admin API: listen on \(admin.address): \(error)")
        }
        let bound = "\(admin.address.host):\(port)"
        adminPort = port
        adminMetrics.adminAddress.withLock { $0 = bound }
        if let tls { tlsListeners.append((SocketAddress(bound)!, tls)) }
        log.info(
            "admin API listening on \(tls == nil ? "http" : "https")://\(bound) (HTTP/1.1; GET /v1/health, /metrics, "
                + "/v1/openapi.json; connectionsMax \(admin.limits.connectionsMax))" + Self.tlsDescription(tls),
            priority: .essential)
    }
}
