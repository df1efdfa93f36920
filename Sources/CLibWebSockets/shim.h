#ifndef RIVER_CLIBWEBSOCKETS_SHIM_H
#define RIVER_CLIBWEBSOCKETS_SHIM_H

#include <libwebsockets.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <errno.h>
#include <dlfcn.h>

// Macros and flag combinations Swift cannot import, wrapped as static inline functions.

/// Context options: OpenSSL global init (needed for wss), explicit vhosts, and no IPv6 mapping.
static inline uint64_t river_lws_context_options(void) {
    return LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
}

/// Vhost options; `tls` adds the OpenSSL init flag lws wants on TLS vhosts.
static inline uint64_t river_lws_vhost_options(int tls) {
    uint64_t options = 0;
    if (tls) options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    return options;
}

/// Vhost option that stops lws from loading the OS trust store for client connections (used
/// when a custom CA file replaces it).
static inline uint64_t river_lws_disable_os_ca_option(void) {
    return LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
}

/// Vhost option that makes clients present a certificate signed by the vhost's CA (mTLS).
static inline uint64_t river_lws_require_client_certificate_option(void) {
    return LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
}

/// `ssl_connection` flags for a client connection.
static inline int river_lws_client_ssl_flags(int tls, int insecure) {
    if (!tls) return 0;
    int flags = LCCSCF_USE_SSL;
    if (insecure) {
        flags |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK
            | LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    return flags;
}

/// Port value for a vhost that does not listen.
static inline int river_lws_no_listen_port(void) { return CONTEXT_PORT_NO_LISTEN; }

/// Port value for a server vhost that does not listen itself (sockets are adopted into it).
static inline int river_lws_no_listen_server_port(void) { return CONTEXT_PORT_NO_LISTEN_SERVER; }

/// Adopts a listening socket as a raw descriptor: lws polls it and reports readability with
/// LWS_CALLBACK_RAW_RX_FILE; closing the wsi closes the descriptor.
static inline struct lws *river_lws_adopt_listen_fd(struct lws_vhost *vhost, int fd, const char *protocol) {
    lws_sock_file_fd_type descriptor;
    descriptor.filefd = fd;
    return lws_adopt_descriptor_vhost(vhost, LWS_ADOPT_RAW_FILE_DESC, descriptor, protocol, NULL);
}

/// accept() for a listener: the new socket is non-blocking and close-on-exec. Returns -1 and
/// leaves errno set when nothing is pending.
static inline int river_accept_nonblocking(int fd) {
    int client = accept(fd, NULL, NULL);
    if (client >= 0) {
        fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
        fcntl(client, F_SETFD, FD_CLOEXEC);
    }
    return client;
}

/// The certificate verification error of a client connection's TLS session, or NULL.
///
/// lws reports TLS failures to the callback as "SSL err 1"; the verify result names the real
/// cause ("unable to get local issuer certificate", "Hostname mismatch"). OpenSSL is loaded by
/// libwebsockets but not linked into this module, so its functions are looked up at run time.
static inline const char *river_lws_tls_verify_error(struct lws *wsi) {
    typedef long (*get_verify_result_f)(const SSL *);
    typedef const char *(*error_string_f)(long);
    static get_verify_result_f get_verify_result;
    static error_string_f error_string;
    if (!get_verify_result || !error_string) {
        get_verify_result = (get_verify_result_f)dlsym(RTLD_DEFAULT, "SSL_get_verify_result");
        error_string = (error_string_f)dlsym(RTLD_DEFAULT, "X509_verify_cert_error_string");
        if (!get_verify_result || !error_string) return NULL;
    }
    SSL *ssl = lws_get_ssl(wsi);
    if (!ssl) return NULL;
    long result = get_verify_result(ssl);
    if (result == 0 /* X509_V_OK */) return NULL;
    return error_string(result);
}

/// The pending error of socket `fd` (`SO_ERROR`, which reading clears), or 0 when there is
/// none or `fd` is not a socket.
static inline int river_socket_error(int fd) {
    if (fd < 0) return 0;
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return 0;
    return error;
}

/// OpenSSL message callback that records the first fatal TLS alert the peer sends into the
/// int that `arg` points to (the alert description, plus 0x100 so that 0 means "none").
static inline void river_tls_alert_recorder(int write_p, int version, int content_type, const void *buf, size_t len,
                                            SSL *ssl, void *arg) {
    (void)version;
    (void)ssl;
    const unsigned char *bytes = (const unsigned char *)buf;
    if (write_p || content_type != 21 /* SSL3_RT_ALERT */ || len < 2 || !arg) return;
    int *slot = (int *)arg;
    if (bytes[0] == 2 /* fatal */ && *slot == 0) *slot = 0x100 | bytes[1];
}

/// Makes a client connection's TLS session record the peer's fatal alert into `slot` (which
/// must outlive the session). Returns 0 when the connection has no TLS session or OpenSSL's
/// functions cannot be found.
static inline int river_lws_record_tls_alerts(struct lws *wsi, int *slot) {
    typedef void (*set_msg_callback_f)(SSL *, void (*)(int, int, int, const void *, size_t, SSL *, void *));
    typedef long (*ctrl_f)(SSL *, int, long, void *);
    set_msg_callback_f set_msg_callback = (set_msg_callback_f)dlsym(RTLD_DEFAULT, "SSL_set_msg_callback");
    ctrl_f ctrl = (ctrl_f)dlsym(RTLD_DEFAULT, "SSL_ctrl");
    SSL *ssl = lws_get_ssl(wsi);
    if (!ssl || !set_msg_callback || !ctrl) return 0;
    set_msg_callback(ssl, river_tls_alert_recorder);
    ctrl(ssl, 16 /* SSL_CTRL_SET_MSG_CALLBACK_ARG */, 0, slot);
    return 1;
}

/// OpenSSL's long description of a TLS alert (for example "certificate required"), or NULL.
static inline const char *river_tls_alert_description(int alert) {
    typedef const char *(*describe_f)(int);
    describe_f describe = (describe_f)dlsym(RTLD_DEFAULT, "SSL_alert_desc_string_long");
    return describe ? describe(alert) : NULL;
}

/// Stops lws from moving a TLS connection to another server vhost by its SNI name.
///
/// All River server vhosts share the pseudo port CONTEXT_PORT_NO_LISTEN_SERVER, so lws' SNI
/// callback would hand every connection to the first of them (whatever its certificate or
/// client-certificate policy). Each listener's sockets are adopted into the right vhost already.
static inline void river_lws_disable_sni_vhost_switch(void *ssl_ctx) {
    typedef long (*callback_ctrl_f)(SSL_CTX *, int, void (*)(void));
    static callback_ctrl_f callback_ctrl;
    if (!callback_ctrl) callback_ctrl = (callback_ctrl_f)dlsym(RTLD_DEFAULT, "SSL_CTX_callback_ctrl");
    if (callback_ctrl && ssl_ctx) callback_ctrl((SSL_CTX *)ssl_ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB, NULL);
}

/// Pauses (`paused` != 0) or resumes reading from one connection (`lws_rx_flow_control`). A
/// resume is applied at once (it usually comes from a command, outside the wsi's callbacks);
/// lws keeps bytes it has read already and delivers them first when reading resumes.
static inline int river_lws_set_receiving_paused(struct lws *wsi, int paused) {
    return lws_rx_flow_control(wsi, paused ? 0 : (1 | LWS_RXFLOW_REASON_FLAG_PROCESS_NOW));
}

/// `lws_set_timeout` seconds value that closes the connection on the next service pass.
static inline int river_lws_kill_async(void) { return LWS_TO_KILL_ASYNC; }

/// Log levels routed to the emit function (errors, warnings, notices, info; not debug).
static inline int river_lws_log_levels(int verbose) {
    int levels = LLL_ERR | LLL_WARN | LLL_NOTICE;
    if (verbose) levels |= LLL_INFO | LLL_CLIENT;
    return levels;
}

static inline int river_lws_level_err(void) { return LLL_ERR; }
static inline int river_lws_level_warn(void) { return LLL_WARN; }
static inline int river_lws_level_notice(void) { return LLL_NOTICE; }

#endif
