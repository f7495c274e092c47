/* disco-ice.h: ICE (libnice) and DTLS with simple reliability for RELOAD
 * links (RFC 6940 §6.5.1, §5.6.3: DTLS-UDP-SR over one ICE component).
 *
 * DiscoIceSession gathers host candidates (and server-reflexive ones when a
 * STUN server is configured), exchanges them as RELOAD IceCandidate
 * structures (the Attach/AppAttach body), runs the connectivity checks and
 * then carries datagrams.  UPnP is always off: nothing is ever sent to a
 * multicast group or a gateway.
 *
 * DiscoDtlsLink runs DTLS over a connected session with the RELOAD framing
 * header (DATA/ACK) for simple reliability: each DATA frame is retransmitted
 * with a static RTO until acknowledged or until it has been sent five times.
 * The peer certificate must carry the Node-ID the caller expects.
 *
 * Both run on the GMainContext given at creation and must be used from its
 * thread.  Callbacks may free the object they are called for only through an
 * idle, never directly.
 */
#pragma once

#include <gio/gio.h>

#include "reload-identity.h"
#include "reload-wire.h"

G_BEGIN_DECLS

#define DISCO_ICE_ERROR (disco_ice_error_quark ())
GQuark disco_ice_error_quark (void);

typedef enum
{
  DISCO_ICE_ERROR_FAILED,        /* libnice refused or connectivity checks failed */
  DISCO_ICE_ERROR_BAD_CANDIDATE, /* a remote candidate we cannot use */
  DISCO_ICE_ERROR_NOT_CONNECTED,
  DISCO_ICE_ERROR_DTLS,          /* handshake or record failure */
  DISCO_ICE_ERROR_PEER_IDENTITY, /* certificate lacks the expected Node-ID */
  DISCO_ICE_ERROR_TIMEOUT,       /* a DATA frame was never acknowledged */
  DISCO_ICE_ERROR_TOO_LARGE,
} DiscoIceError;

typedef enum
{
  DISCO_ICE_STATE_NEW,
  DISCO_ICE_STATE_GATHERING,
  DISCO_ICE_STATE_GATHERED,
  DISCO_ICE_STATE_CHECKING,
  DISCO_ICE_STATE_CONNECTED,
  DISCO_ICE_STATE_FAILED,
  DISCO_ICE_STATE_CLOSED,
} DiscoIceState;

const char *disco_ice_state_to_string (DiscoIceState state);

typedef struct _DiscoIceSession DiscoIceSession;

typedef void (*DiscoIceStateFunc) (DiscoIceSession *session, DiscoIceState state,
                                   gpointer user_data);
typedef void (*DiscoIceRecvFunc) (DiscoIceSession *session, const guint8 *data, gsize len,
                                  gpointer user_data);

typedef struct
{
  gboolean controlling;               /* the Attach requester is controlling (RFC 6940 §6.5.1.3) */
  const char *const *local_addresses; /* numeric IPs to gather on; NULL = every interface */
  const char *stun_server;            /* numeric IP, or NULL for host candidates only */
  guint stun_port;
  guint8 overlay_link; /* DiscoReloadOverlayLinkType written into candidates */
} DiscoIceConfig;

/* Creates a session on @context (NULL = the thread-default one). */
DiscoIceSession *disco_ice_session_new (GMainContext *context, const DiscoIceConfig *config,
                                        GError **error);

void disco_ice_session_set_callbacks (DiscoIceSession *session, DiscoIceStateFunc state_func,
                                      DiscoIceRecvFunc recv_func, gpointer user_data);

/* Starts gathering; the state callback reports GATHERED. */
gboolean disco_ice_session_gather (DiscoIceSession *session, GError **error);

/* Transfer none; valid for the session's lifetime. */
const char *disco_ice_session_get_ufrag (DiscoIceSession *session);
const char *disco_ice_session_get_password (DiscoIceSession *session);

/* Local candidates as RELOAD IceCandidates (DiscoReloadIceCandidate*, owned
 * by the returned array).  Call after GATHERED. */
GPtrArray *disco_ice_session_get_local_candidates (DiscoIceSession *session);

/* Sets the peer's credentials and candidates and starts the checks.
 * Candidates we cannot use (unknown address type, port 0) are skipped; it
 * fails only when none is usable. */
gboolean disco_ice_session_set_remote (DiscoIceSession *session, const char *ufrag,
                                       const char *password, GPtrArray *candidates, GError **error);

DiscoIceState disco_ice_session_get_state (DiscoIceSession *session);

/* Sends one datagram on the selected pair. */
gboolean disco_ice_session_send (DiscoIceSession *session, const guint8 *data, gsize len,
                                 GError **error);

/* "ADDR:PORT" of the selected local and remote candidates, or NULL. */
char *disco_ice_session_describe_pair (DiscoIceSession *session);

void disco_ice_session_free (DiscoIceSession *session);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoIceSession, disco_ice_session_free)

/* ---- DTLS over ICE with simple reliability ---------------------------------- */

typedef struct _DiscoDtlsLink DiscoDtlsLink;

typedef enum
{
  DISCO_DTLS_EVENT_CONNECTED,
  DISCO_DTLS_EVENT_FAILED, /* see the GError */
  DISCO_DTLS_EVENT_CLOSED,
} DiscoDtlsEvent;

typedef void (*DiscoDtlsEventFunc) (DiscoDtlsLink *link, DiscoDtlsEvent event, const GError *error,
                                    gpointer user_data);
/* One RELOAD message (the DATA payload), delivered once and in arrival order. */
typedef void (*DiscoDtlsMessageFunc) (DiscoDtlsLink *link, const guint8 *data, gsize len,
                                      gpointer user_data);

/* Takes over @session's receive callback (the session must stay alive as
 * long as the link).  @active: the DTLS client side (the Attach answerer is
 * "active", RFC 6940 §6.5.1.3).  @expected_peer: the Node-ID the peer's
 * certificate must carry.  @identity is referenced. */
DiscoDtlsLink *disco_dtls_link_new (DiscoIceSession *session, DiscoReloadIdentity *identity,
                                    const DiscoReloadNodeId *expected_peer, gboolean active,
                                    gsize max_message_size, GError **error);

void disco_dtls_link_set_callbacks (DiscoDtlsLink *link, DiscoDtlsEventFunc event_func,
                                    DiscoDtlsMessageFunc message_func, gpointer user_data);

/* Starts the handshake (call once the ICE session is CONNECTED). */
gboolean disco_dtls_link_start (DiscoDtlsLink *link, GError **error);

/* Queues one message as a DATA frame; retransmitted until acknowledged. */
gboolean disco_dtls_link_send (DiscoDtlsLink *link, const guint8 *data, gsize len, GError **error);

/* Test hook: the first transmission of every @n-th DATA frame is lost
 * (0 = none), so retransmission is exercised over a real path. */
void disco_dtls_link_set_drop_every (DiscoDtlsLink *link, guint n);

/* Frames sent again because no ACK came in time. */
guint64 disco_dtls_link_get_retransmissions (DiscoDtlsLink *link);

void disco_dtls_link_free (DiscoDtlsLink *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoDtlsLink, disco_dtls_link_free)

G_END_DECLS
