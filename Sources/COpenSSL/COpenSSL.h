#pragma once
// The system OpenSSL (libssl-dev), as the Network module's TLS layer and AdminAccess (SHA-256, RAND_bytes) use
// it. OpenSSL spells many calls as macros over SSL_CTX_ctrl/SSL_ctrl/BIO_ctrl, which Swift cannot import; each
// one used is wrapped here in a `static inline` function with the same meaning. Thin wrappers only, no logic.
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static inline int copenssl_ctx_set_min_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_min_proto_version(context, version);
}
static inline int copenssl_ctx_set_max_proto_version(SSL_CTX *context, int version) {
    return (int)SSL_CTX_set_max_proto_version(context, version);
}
static inline long copenssl_ctx_set_mode(SSL_CTX *context, long mode) { return SSL_CTX_set_mode(context, mode); }
static inline long copenssl_ctx_set_read_ahead(SSL_CTX *context, long on) {
    return SSL_CTX_set_read_ahead(context, on);
}
static inline int copenssl_ctx_set1_groups_list(SSL_CTX *context, const char *list) {
    return (int)SSL_CTX_set1_groups_list(context, list);
}
static inline long copenssl_ctx_set_session_cache_mode(SSL_CTX *context, long mode) {
    return SSL_CTX_set_session_cache_mode(context, mode);
}
/// The protocol versions and modes the layer sets, as plain constants.
static const int COPENSSL_TLS1_2_VERSION = TLS1_2_VERSION;
static const int COPENSSL_TLS1_3_VERSION = TLS1_3_VERSION;
static const long COPENSSL_MODE_ENABLE_PARTIAL_WRITE = SSL_MODE_ENABLE_PARTIAL_WRITE;
static const long COPENSSL_MODE_ACCEPT_MOVING_WRITE_BUFFER = SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER;
static const long COPENSSL_MODE_RELEASE_BUFFERS = SSL_MODE_RELEASE_BUFFERS;
static const uint64_t COPENSSL_OP_NO_RENEGOTIATION = SSL_OP_NO_RENEGOTIATION;
static const uint64_t COPENSSL_OP_CIPHER_SERVER_PREFERENCE = SSL_OP_CIPHER_SERVER_PREFERENCE;
static const uint64_t COPENSSL_OP_NO_COMPRESSION = SSL_OP_NO_COMPRESSION;
static const uint64_t COPENSSL_OP_IGNORE_UNEXPECTED_EOF = SSL_OP_IGNORE_UNEXPECTED_EOF;
static const long COPENSSL_SESS_CACHE_SERVER = SSL_SESS_CACHE_SERVER;
static const int COPENSSL_VERIFY_PEER = SSL_VERIFY_PEER;
static const int COPENSSL_VERIFY_FAIL_IF_NO_PEER_CERT = SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
static const int COPENSSL_ERROR_NONE = SSL_ERROR_NONE;
static const int COPENSSL_ERROR_SSL = SSL_ERROR_SSL;
static const int COPENSSL_ERROR_WANT_READ = SSL_ERROR_WANT_READ;
static const int COPENSSL_ERROR_WANT_WRITE = SSL_ERROR_WANT_WRITE;
static const int COPENSSL_ERROR_SYSCALL = SSL_ERROR_SYSCALL;
static const int COPENSSL_ERROR_ZERO_RETURN = SSL_ERROR_ZERO_RETURN;
static const int COPENSSL_FILETYPE_PEM = SSL_FILETYPE_PEM;
static const unsigned long COPENSSL_XN_FLAG_RFC2253 = XN_FLAG_RFC2253;
/// Reasons the layer tells apart when it counts refused handshakes.
static const int COPENSSL_R_UNSUPPORTED_PROTOCOL = SSL_R_UNSUPPORTED_PROTOCOL;
static const int COPENSSL_R_WRONG_VERSION_NUMBER = SSL_R_WRONG_VERSION_NUMBER;
static const int COPENSSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE = SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
static const int COPENSSL_R_CERTIFICATE_VERIFY_FAILED = SSL_R_CERTIFICATE_VERIFY_FAILED;
static const int COPENSSL_R_UNEXPECTED_EOF_WHILE_READING = SSL_R_UNEXPECTED_EOF_WHILE_READING;
static const int COPENSSL_R_NO_SHARED_CIPHER = SSL_R_NO_SHARED_CIPHER;
static const int COPENSSL_R_VERSION_TOO_LOW = SSL_R_VERSION_TOO_LOW;

static inline int copenssl_error_reason(unsigned long code) { return ERR_GET_REASON(code); }

/// The bytes a memory BIO holds (for reading a certificate subject printed into one).
static inline long copenssl_bio_memory_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

static int copenssl_refuse_password(char *buffer, int size, int rwflag, void *userdata) {
    (void)buffer; (void)size; (void)rwflag; (void)userdata;
    return 0;
}
/// An encrypted private key is refused instead of OpenSSL prompting on the terminal (a server must not block).
static inline void copenssl_ctx_refuse_password_prompt(SSL_CTX *context) {
    SSL_CTX_set_default_passwd_cb(context, copenssl_refuse_password);
}
