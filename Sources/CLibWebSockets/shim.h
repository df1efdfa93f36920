#ifndef RIVER_CLIBWEBSOCKETS_SHIM_H
#define RIVER_CLIBWEBSOCKETS_SHIM_H

#include <libwebsockets.h>
#include <netdb.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

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

/// Vhost option that makes clients present a certificate signed by the vhost's CA (mTLS).
static inline uint64_t river_lws_require_client_certificate_option(void) {
    return LWS_SERVER_OPTION_REQUIRE_VALID_OPENSSL_CLIENT_CERT;
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

/// Adopts an accepted socket as a raw connection (lws carries its bytes; River speaks
/// WebSocket on it), with lws' server TLS when `tls` is set (the vhost's certificate).
static inline struct lws *river_lws_adopt_raw_socket(struct lws_vhost *vhost, int fd, int tls, const char *protocol) {
    lws_sock_file_fd_type descriptor;
    descriptor.sockfd = fd;
    int type = LWS_ADOPT_SOCKET | (tls ? LWS_ADOPT_ALLOW_SSL : 0);
    return lws_adopt_descriptor_vhost(vhost, (lws_adoption_type)type, descriptor, protocol, NULL);
}

/// Sends small writes at once (TCP_NODELAY): a message must not wait for the peer's delayed
/// acknowledgement of the previous one (Nagle's algorithm). lws sets it on the sockets it
/// dials; River sets it on the ones its listeners accept and adopt as raw connections.
static inline void river_set_no_delay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/// accept() for a listener: the new socket is non-blocking, close-on-exec and sends small
/// writes at once. Returns -1 and
/// leaves errno set when nothing is pending.
static inline int river_accept_nonblocking(int fd) {
    int client = accept(fd, NULL, NULL);
    if (client >= 0) {
        fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
        fcntl(client, F_SETFD, FD_CLOEXEC);
        river_set_no_delay(client);
    }
    return client;
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

// MARK: Client TLS over memory buffers
//
// lws 4.1.6 cannot run TLS on a raw client connection (it starts the TLS session before the
// socket exists), so a `wss` client runs OpenSSL itself: lws carries the encrypted bytes of a
// raw connection, and an SSL object with two memory BIOs turns them into plaintext and back.

/// A client TLS context: the system trust store, or only `ca_file` when given (like curl's
/// --cacert); the client certificate chain and key when given. NULL when a file is rejected
/// (`error` then holds OpenSSL's reason).
static inline SSL_CTX *river_tls_context_new(const char *ca_file, const char *certificate_file, const char *key_file,
                                             char *error, size_t error_size) {
    error[0] = 0;
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    if (!context) goto failed;
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    if (ca_file) {
        if (SSL_CTX_load_verify_locations(context, ca_file, NULL) != 1) goto failed;
    } else if (SSL_CTX_set_default_verify_paths(context) != 1) {
        goto failed;
    }
    if (certificate_file && SSL_CTX_use_certificate_chain_file(context, certificate_file) != 1) goto failed;
    if (key_file && SSL_CTX_use_PrivateKey_file(context, key_file, SSL_FILETYPE_PEM) != 1) goto failed;
    if (certificate_file && key_file && SSL_CTX_check_private_key(context) != 1) goto failed;
    return context;
failed:
    ERR_error_string_n(ERR_get_error(), error, error_size);
    ERR_clear_error();
    if (context) SSL_CTX_free(context);
    return NULL;
}

/// A client TLS session on `context` reading from and writing to memory buffers. `host` is the
/// server name sent (SNI, not for IP literals) and, unless `insecure`, the name or address the
/// certificate must match. Records the first fatal alert the server sends into `alert_slot`.
static inline SSL *river_tls_session_new(SSL_CTX *context, const char *host, int host_is_ip, int insecure, int *alert_slot) {
    SSL *ssl = SSL_new(context);
    if (!ssl) return NULL;
    BIO *in = BIO_new(BIO_s_mem());
    BIO *out = BIO_new(BIO_s_mem());
    if (!in || !out) {
        if (in) BIO_free(in);
        if (out) BIO_free(out);
        SSL_free(ssl);
        return NULL;
    }
    BIO_set_mem_eof_return(in, -1);
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    SSL_set_verify(ssl, insecure ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
    if (!host_is_ip) SSL_set_tlsext_host_name(ssl, host);
    if (!insecure) {
        X509_VERIFY_PARAM *param = SSL_get0_param(ssl);
        if (host_is_ip) X509_VERIFY_PARAM_set1_ip_asc(param, host);
        else X509_VERIFY_PARAM_set1_host(param, host, 0);
    }
    SSL_set_msg_callback(ssl, river_tls_alert_recorder);
    SSL_set_msg_callback_arg(ssl, alert_slot);
    return ssl;
}

static inline void river_tls_session_free(SSL *ssl) { SSL_free(ssl); }

/// Hands received ciphertext to the session. Returns how many bytes it took (all, barring
/// memory exhaustion).
static inline int river_tls_put_ciphertext(SSL *ssl, const void *bytes, int count) {
    return BIO_write(SSL_get_rbio(ssl), bytes, count);
}

/// How many bytes of ciphertext wait to be sent.
static inline size_t river_tls_pending_ciphertext(SSL *ssl) { return BIO_ctrl_pending(SSL_get_wbio(ssl)); }

/// Takes up to `count` bytes of ciphertext to send. Returns how many were taken.
static inline int river_tls_take_ciphertext(SSL *ssl, void *buffer, int count) {
    int taken = BIO_read(SSL_get_wbio(ssl), buffer, count);
    return taken < 0 ? 0 : taken;
}

/// What a TLS step came to.
enum { RIVER_TLS_DONE = 1, RIVER_TLS_WANT_MORE = 0, RIVER_TLS_CLOSED = -1, RIVER_TLS_FAILED = -2 };

static inline int river_tls_outcome(SSL *ssl, int result) {
    switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return RIVER_TLS_WANT_MORE;
    case SSL_ERROR_ZERO_RETURN: return RIVER_TLS_CLOSED;
    default: return RIVER_TLS_FAILED;
    }
}

/// Advances the handshake. RIVER_TLS_DONE once it completed.
static inline int river_tls_handshake(SSL *ssl) {
    int result = SSL_do_handshake(ssl);
    return result == 1 ? RIVER_TLS_DONE : river_tls_outcome(ssl, result);
}

/// Reads plaintext: a positive count, or RIVER_TLS_WANT_MORE / _CLOSED / _FAILED.
static inline int river_tls_read(SSL *ssl, void *buffer, int count) {
    int result = SSL_read(ssl, buffer, count);
    return result > 0 ? result : river_tls_outcome(ssl, result);
}

/// Encrypts `count` bytes of plaintext into the ciphertext buffer. RIVER_TLS_DONE or _FAILED.
static inline int river_tls_write(SSL *ssl, const void *bytes, int count) {
    if (count == 0) return RIVER_TLS_DONE;
    int result = SSL_write(ssl, bytes, count);
    return result == count ? RIVER_TLS_DONE : RIVER_TLS_FAILED;
}

/// The certificate verification error of the session, or NULL when the certificate passed (or
/// was not checked).
static inline const char *river_tls_verify_error(SSL *ssl) {
    long result = SSL_get_verify_result(ssl);
    return result == X509_V_OK ? NULL : X509_verify_cert_error_string(result);
}

/// OpenSSL's reason for the last failure on this thread (empty when none), clearing the queue.
static inline void river_tls_last_error(char *buffer, size_t size) {
    buffer[0] = 0;
    unsigned long code = ERR_get_error();
    if (code) ERR_error_string_n(code, buffer, size);
    ERR_clear_error();
}

/// OpenSSL's long description of a TLS alert (for example "certificate required").
static inline const char *river_tls_alert_description(int alert) { return SSL_alert_desc_string_long(alert); }

/// Stops lws from moving a TLS connection to another server vhost by its SNI name.
///
/// All River server vhosts share the pseudo port CONTEXT_PORT_NO_LISTEN_SERVER, so lws' SNI
/// callback would hand every connection to the first of them (whatever its certificate or
/// client-certificate policy). Each listener's sockets are adopted into the right vhost already.
static inline void river_lws_disable_sni_vhost_switch(void *ssl_ctx) {
    if (ssl_ctx) SSL_CTX_callback_ctrl((SSL_CTX *)ssl_ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB, NULL);
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

// The service thread's epoll wait (`LWSRuntime`): it sleeps there instead of in lws' poll(2)
// over every socket. `struct epoll_event` is packed, so Swift never handles one.

/// A close-on-exec epoll instance, or -1.
static inline int river_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// Watches `fd` for input (hang-ups and errors are always reported). 0, or -1 with errno.
static inline int river_epoll_watch(int epoll_fd, int fd) {
    struct epoll_event event = { .events = EPOLLIN, .data = { .fd = fd } };
    int result = epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    if (result < 0 && errno == EEXIST) result = epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fd, &event);
    return result;
}

/// A non-blocking, close-on-exec eventfd, or -1.
static inline int river_eventfd_create(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

/// Makes `event_fd` readable.
static inline void river_eventfd_signal(int event_fd) {
    uint64_t one = 1;
    ssize_t written = write(event_fd, &one, sizeof one);
    (void)written;
}

/// Waits up to `timeout_ms` for watched descriptors and stores up to `capacity` of them in
/// `ready` as lws poll entries (input, hang-up and error mapped to POLLIN, POLLHUP, POLLERR;
/// `events` POLLIN), leaving out `event_fd`, which it resets. Returns how many descriptors were
/// ready in all, `event_fd` included (0 on timeout or interruption).
static inline int river_epoll_wait(int epoll_fd, int event_fd, int timeout_ms, struct lws_pollfd *ready,
                                   int capacity, int *stored) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    *stored = 0;
    int count = epoll_wait(epoll_fd, events, capacity, timeout_ms);
    if (count < 0) return 0;
    for (int i = 0; i < count; i++) {
        if (events[i].data.fd == event_fd) {
            uint64_t value;
            ssize_t got = read(event_fd, &value, sizeof value);
            (void)got;
            continue;
        }
        short revents = 0;
        if (events[i].events & EPOLLIN) revents |= POLLIN;
        if (events[i].events & EPOLLHUP) revents |= POLLHUP;
        if (events[i].events & EPOLLERR) revents |= POLLERR;
        ready[*stored].fd = events[i].data.fd;
        ready[*stored].events = POLLIN;
        ready[*stored].revents = revents;
        (*stored)++;
    }
    return count;
}

#endif
