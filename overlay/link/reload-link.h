/* reload-link.h: one RELOAD overlay link (TLS-TCP-FH-NO-ICE, RFC 6940 §6.6.2).
 *
 * A DiscoReloadLink carries framed RELOAD messages over a TCP connection
 * wrapped in mutual TLS (OpenSSL, non-blocking socket driven by the GLib main
 * context of the thread that created it).  Each side presents its RELOAD
 * certificate; after the handshake the peer certificate is checked by the
 * security module (chain to a root-cert, or self-signed with the Node-ID
 * derived from the key when the overlay permits it) and, when the caller
 * named the Node-ID it expected, that Node-ID must be among the
 * certificate's.  A failed check closes the link before any message passes.
 *
 * Every received DATA frame is ACKed at once; ACKs feed an RFC 6298 RTT/RTO
 * estimate (disco_reload_link_get_rtt).  A DATA frame larger than the
 * context's max-message-size stops the link: the too_large callback gets the
 * frame's first bytes (at most max-message-size) so the owner can answer
 * Error_Message_Too_Large, then the owner closes it (see
 * disco_reload_link_close_after_flush).
 *
 * TEST-ONLY plaintext mode sends the same frames without TLS so tshark can
 * read them; a context refuses to create such links unless the owner set
 * allow_plaintext explicitly AND the overlay configuration enables them
 * (<disco:plaintext-test-links>true</...>, see reload-config.h); asking
 * without the configuration's consent fails disco_reload_link_context_new.
 * There is no Node-ID check in plaintext mode.
 *
 * Ownership: the context and links are reference counted.  Callbacks run
 * from the main context; a callback may close or unref its link (the link
 * holds a reference to itself while it dispatches).  After
 * disco_reload_link_close() no further callbacks arrive.
 */
#pragma once

#include <gio/gio.h>
#include <openssl/ssl.h>

#include "reload-config.h"
#include "reload-framing.h"
#include "reload-identity.h"
#include "reload-signature.h"

G_BEGIN_DECLS

#define DISCO_RELOAD_LINK_ERROR (disco_reload_link_error_quark ())
GQuark disco_reload_link_error_quark (void);

typedef enum
{
  DISCO_RELOAD_LINK_ERROR_TLS,       /* handshake or record layer failure */
  DISCO_RELOAD_LINK_ERROR_PEER_CERT, /* no certificate, untrusted, or wrong Node-ID */
  DISCO_RELOAD_LINK_ERROR_PLAINTEXT, /* plaintext link requested but not allowed */
  DISCO_RELOAD_LINK_ERROR_FRAMING,   /* unknown frame type: the byte stream is lost */
  DISCO_RELOAD_LINK_ERROR_TOO_LARGE, /* a message above max-message-size */
  DISCO_RELOAD_LINK_ERROR_CLOSED,    /* the peer closed the connection */
  DISCO_RELOAD_LINK_ERROR_IO,        /* socket error */
} DiscoReloadLinkError;

typedef struct _DiscoReloadLinkContext DiscoReloadLinkContext;
typedef struct _DiscoReloadLink DiscoReloadLink;

typedef struct
{
  /* The local identity (certificate, chain, key).  The context takes a
   * reference.  May be NULL only for a plaintext-only context. */
  DiscoReloadIdentity *identity;
  /* The overlay configuration: trust (root-cert, self-signed-permitted,
   * bad-node), max-message-size and the instance name.  Reference taken;
   * NULL means the embedded default document. */
  DiscoReloadConfig *config;
  /* Extra trust anchors (DiscoReloadCert*), e.g. an enrollment CA the
   * document does not list yet; may be NULL. */
  GPtrArray *extra_roots;
  /* Overrides config->max_message_size when non-zero. */
  gsize max_message_size;
  gboolean allow_plaintext;   /* TEST ONLY: allow DISCO_RELOAD_LINK_PLAINTEXT links (the
                               * config must enable them too) */
  const char *keylog_path;    /* NSS key log file to append to, or NULL */
  guint handshake_timeout_ms; /* connect + handshake deadline; 0: 15 s */
} DiscoReloadLinkSettings;

typedef enum
{
  DISCO_RELOAD_LINK_TLS = 0,
  DISCO_RELOAD_LINK_PLAINTEXT = 1, /* TEST ONLY */
} DiscoReloadLinkMode;

typedef struct
{
  /* The handshake and the certificate checks passed; messages may flow. */
  void (*established) (DiscoReloadLink *link, gpointer user_data);
  /* One complete RELOAD message (a DATA frame's payload); borrowed. */
  void (*message) (DiscoReloadLink *link, GBytes *message, gpointer user_data);
  /* A message above max-message-size arrived: @head holds its first bytes
   * (borrowed), @announced the length its frame claimed.  Reading has
   * stopped.  When NULL, the link just closes. */
  void (*too_large) (DiscoReloadLink *link, GBytes *head, gsize announced, gpointer user_data);
  /* The link died (peer close, error, failed check); @error says why.  Not
   * called after disco_reload_link_close(). */
  void (*closed) (DiscoReloadLink *link, const GError *error, gpointer user_data);
} DiscoReloadLinkCallbacks;

/* Builds the TLS context.  Copies what it needs from @settings (the caller
 * keeps ownership of everything in it).  Fails when the certificate and key
 * do not match or a root certificate does not parse. */
DiscoReloadLinkContext *disco_reload_link_context_new (const DiscoReloadLinkSettings *settings,
                                                       GError **error);
DiscoReloadLinkContext *disco_reload_link_context_ref (DiscoReloadLinkContext *ctx);
void disco_reload_link_context_unref (DiscoReloadLinkContext *ctx);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadLinkContext, disco_reload_link_context_unref)

gsize disco_reload_link_context_get_max_message_size (DiscoReloadLinkContext *ctx);
/* The context's trust (borrowed): the node verifies message signatures
 * against the same anchors as the links. */
DiscoReloadTrust *disco_reload_link_context_get_trust (DiscoReloadLinkContext *ctx);
DiscoReloadConfig *disco_reload_link_context_get_config (DiscoReloadLinkContext *ctx);

/* Takes over a connected TCP socket.  @is_server: TLS server side (the side
 * that accepted).  @expected_node_id: Node-ID the peer's certificate must
 * carry, or NULL to accept any valid certificate.  The
 * handshake starts at once on the thread-default main context. */
DiscoReloadLink *disco_reload_link_new (DiscoReloadLinkContext *ctx, GSocket *socket,
                                        gboolean is_server, DiscoReloadLinkMode mode,
                                        const DiscoReloadNodeId *expected_node_id,
                                        const DiscoReloadLinkCallbacks *callbacks,
                                        gpointer user_data, GError **error);

/* Starts a non-blocking TCP connect to @address and then the TLS handshake
 * as client.  Errors from the connect come through the closed callback. */
DiscoReloadLink *disco_reload_link_connect (DiscoReloadLinkContext *ctx, GSocketAddress *address,
                                            DiscoReloadLinkMode mode,
                                            const DiscoReloadNodeId *expected_node_id,
                                            const DiscoReloadLinkCallbacks *callbacks,
                                            gpointer user_data, GError **error);

DiscoReloadLink *disco_reload_link_ref (DiscoReloadLink *link);
/* Dropping the last reference closes the link silently. */
void disco_reload_link_unref (DiscoReloadLink *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadLink, disco_reload_link_unref)

/* Queues @message (a whole encoded RELOAD message) as one DATA frame.  May be
 * called before the link is established (sent once it is).  Fails when the
 * link is closed or the message exceeds the 24-bit frame length. */
gboolean disco_reload_link_send (DiscoReloadLink *link, GBytes *message, GError **error);

/* Closes now: no more callbacks, pending output is dropped. */
void disco_reload_link_close (DiscoReloadLink *link);
/* Stops reading, sends what is queued (with a TLS close_notify), then closes;
 * the closed callback is not called. */
void disco_reload_link_close_after_flush (DiscoReloadLink *link);

gboolean disco_reload_link_is_established (DiscoReloadLink *link);
gboolean disco_reload_link_is_open (DiscoReloadLink *link); /* not yet closed */
DiscoReloadLinkMode disco_reload_link_get_mode (DiscoReloadLink *link);
/* The peer's Node-ID: the expected one if given, else the first of its
 * certificate; NULL before the link is established and for plaintext links
 * (see disco_reload_link_set_peer_node_id).  Borrowed. */
const DiscoReloadNodeId *disco_reload_link_get_peer_node_id (DiscoReloadLink *link);
/* Plaintext links have no certificate: the owner may record the Node-ID it
 * learned from a verified message. */
void disco_reload_link_set_peer_node_id (DiscoReloadLink *link, const DiscoReloadNodeId *id);
/* The peer's verified certificate (Node-IDs, user name), or NULL.  Borrowed. */
DiscoReloadCert *disco_reload_link_get_peer_cert (DiscoReloadLink *link);
/* New reference to the remote address, or NULL. */
GSocketAddress *disco_reload_link_get_remote_address (DiscoReloadLink *link);
const DiscoReloadRtt *disco_reload_link_get_rtt (DiscoReloadLink *link);
/* "tls"/"plaintext" plus a short peer description for logs; borrowed. */
const char *disco_reload_link_describe (DiscoReloadLink *link);

/* A listener: accepts TCP connections on a bound socket and wraps each in a
 * server-side link (mode as given).  @accepted is called with a new link (the
 * callee takes the reference); the link's callbacks/user_data come from
 * @link_callbacks/@link_user_data. */
typedef struct _DiscoReloadListener DiscoReloadListener;
typedef void (*DiscoReloadAcceptFunc) (DiscoReloadListener *listener, DiscoReloadLink *link,
                                       gpointer user_data);

DiscoReloadListener *disco_reload_listener_new (DiscoReloadLinkContext *ctx,
                                                GInetSocketAddress *address,
                                                DiscoReloadLinkMode mode,
                                                DiscoReloadAcceptFunc accepted,
                                                const DiscoReloadLinkCallbacks *link_callbacks,
                                                gpointer user_data, GError **error);
/* The bound address (port resolved); borrowed. */
GInetSocketAddress *disco_reload_listener_get_address (DiscoReloadListener *listener);
void disco_reload_listener_free (DiscoReloadListener *listener);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadListener, disco_reload_listener_free)

G_END_DECLS
