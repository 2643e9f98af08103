import Network

extension SwitchServer {
    /// Loads a listener's TLS files (nil for a plain listener); refuses the start with the path and the reason.
    func loadTLS(_ listener: ListenerConfiguration) throws(SwitchStartError) -> TLSListenerContext? {
        guard let files = listener.tls else { return nil }
        let context: TLSListenerContext
        do {
            context = try TLSListenerContext(files: files)
        } catch {
            throw SwitchStartError(message: "listener \(listener.address): TLS: \(error)")
        }
        precondition(context.files.certificatePath == files.certificatePath, "the context serves the listener's files")
        return context
    }

    /// `, TLS 1.2-1.3 certificate CN=… (until …), client certificates from CA.pem`: for the listening line.
    static func tlsDescription(_ tls: TLSListenerContext?) -> String {
        guard let tls else { return "" }
        let context = tls.context
        var text = " TLS 1.2-1.3 certificate \(context.subject) (not after \(context.notAfter))"
        if let authority = tls.files.clientCertificateAuthorityPath {
            text += ", client certificates required from \(authority)"
        }
        return text
    }

    /// Re-reads every TLS listener's certificate, key and client authority and puts them in force together:
    /// new connections get them, open connections keep theirs. All or nothing: if one file cannot serve, the
    /// error names it and no listener changes. Returns the number of listeners reloaded.
    @discardableResult
    public func reloadCertificates() throws(SwitchStartError) -> Int {
        var fresh: [TLSServerContext] = []
        for (address, listener) in tlsListeners {
            do {
                fresh.append(try TLSServerContext(files: listener.files))
            } catch {
                throw SwitchStartError(message: "listener \(address): TLS: \(error)")
            }
        }
        precondition(fresh.count == tlsListeners.count, "a new context for every TLS listener, or none")
        for (index, (address, listener)) in tlsListeners.enumerated() {
            listener.install(fresh[index])
            log.info(
                "TLS on \(address): certificate reloaded, \(fresh[index].subject) (not after \(fresh[index].notAfter))")
        }
        return tlsListeners.count
    }

    /// True when at least one listener serves TLS.
    public var hasTLSListeners: Bool { !tlsListeners.isEmpty }
}
