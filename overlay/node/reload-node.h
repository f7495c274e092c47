/* reload-node.h: a RELOAD node (RFC 6940) on TLS/TCP links.
 *
 * A DiscoReloadNode owns its links, decodes what arrives on them, verifies
 * message signatures and either answers (Ping, Probe, Store, Fetch, Stat,
 * Find, Attach, AppAttach and Errors), forwards (to a directly connected node
 * named in the destination list, appending the previous hop to the via list)
 * or completes one of its own requests.
 *
 * Topology: with settings.chord (off by default) a peer runs CHORD-RELOAD
 * (RFC 6940 §10, reload-node-chord.c): a DiscoChordTable fed by its links
 * (links it opened at once, links others opened once that peer sends Join
 * or Update), requests routed with disco_chord_table_next_hop for Node-ID
 * and Resource-ID destinations, Store/Fetch/Stat/Find answered only where
 * responsible; Join through its first link (Attach to its own Node-ID ->
 * direct TLS link to the answering admitting peer -> Join; the admitting
 * peer hands over data with replica Stores); Updates on every neighbour
 * change and every stabilize_ms; fingers repaired by Attach to finger
 * targets; Leave + handover to the successor via
 * disco_reload_node_chord_leave(); a closed link removes the peer.
 * Without Chord a peer considers itself responsible for every Resource-ID
 * it is asked about (the admitting-peer model) and forwards requests to
 * another peer's Node-ID only when that peer is directly connected.
 * Other components may take over methods with disco_reload_node_set_handler
 * (Chord installs handlers for Join, Leave, Update and RouteQuery).
 *
 * Client side: disco_reload_node_request_async() stamps, signs and sends a
 * request, retransmits it with the same transaction id every
 * overlay-reliability-timer (at most 5 sends, RFC 6940 §6.2.1) and completes
 * with the verified answer, or with an error carrying the RFC error code of
 * an Error response.  Receivers keep answers for 15 s so a retransmitted
 * request gets the same answer again.
 *
 * Answers to a request sent to a Node-ID must be signed by that node (Errors
 * excepted: any hop may produce them).  Messages above max-message-size
 * leave as RELOAD fragments; the receiver reassembles them (up to 1 MiB).  A
 * link whose oldest DATA frame stays unacknowledged for 30 s is closed.
 *
 * Bad input never crashes: undecodable bytes get the matching Error
 * (Error_Invalid_Message, Error_TTL_Exceeded, Error_Unknown_Extension,
 * Error_Config_Too_Old/New, Error_Message_Too_Large + close) when the header
 * can be read and the message was a request, and are dropped with a log
 * line otherwise.
 *
 * Threading: everything runs on the thread-default main context of the
 * thread that created the node.
 *
 * Ownership: DiscoReloadNode is a plain struct freed with
 * disco_reload_node_free(); it references the config and identity it is
 * given and owns its links and (peers only) an in-memory DiscoReloadStorage.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>

#include "reload-config.h"
#include "reload-identity.h"
#include "reload-link.h"
#include "reload-signature.h"
#include "reload-wire.h"

G_BEGIN_DECLS

#define DISCO_RELOAD_NODE_ERROR (disco_reload_node_error_quark ())
GQuark disco_reload_node_error_quark (void);

/* Codes below 0x100 are RFC 6940 error codes (DiscoReloadErrorCode) of an
 * Error response the peer sent, plus DISCO_RELOAD_ERROR_REQUEST_TIMEOUT when
 * no answer came after the last retransmission. */
typedef enum
{
  DISCO_RELOAD_NODE_ERROR_NOT_CONNECTED = 0x100, /* no link to send on */
  DISCO_RELOAD_NODE_ERROR_BAD_ANSWER,            /* answer unsigned / wrong code / undecodable */
  DISCO_RELOAD_NODE_ERROR_CLOSED,                /* the node was freed */
} DiscoReloadNodeError;

typedef struct _DiscoReloadNode DiscoReloadNode;

typedef struct
{
  DiscoReloadIdentity *identity; /* required; reference taken */
  DiscoReloadConfig *config;     /* reference taken; NULL: the embedded default */
  GPtrArray *extra_roots;        /* DiscoReloadCert*, extra trust anchors, may be NULL */
  gboolean client;               /* a RELOAD client: stores nothing, answers only Ping */
  gboolean allow_plaintext;      /* TEST ONLY: permit plaintext links */
  const char *keylog_path;       /* NSS key log for TLS, or NULL */
  gsize max_message_size;        /* 0: the config's */
  /* CHORD-RELOAD topology (peers only; off by default).  With it the peer
   * keeps a DiscoChordTable, routes by it, joins the ring through its first
   * link, sends Updates every @stabilize_ms (0: 5000) and hands data over on
   * Join/Leave.  Without it a peer answers for every Resource-ID. */
  gboolean chord;
  gboolean chord_first; /* the ring's first peer: joins nobody */
  guint stabilize_ms;
} DiscoReloadNodeSettings;

DiscoReloadNode *disco_reload_node_new (const DiscoReloadNodeSettings *settings, GError **error);
void disco_reload_node_free (DiscoReloadNode *node);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadNode, disco_reload_node_free)

/* Accepts links on @address (port 0 = ephemeral). */
gboolean disco_reload_node_listen (DiscoReloadNode *node, GInetSocketAddress *address,
                                   DiscoReloadLinkMode mode, GError **error);
/* The bound address, or NULL when not listening.  Borrowed. */
GInetSocketAddress *disco_reload_node_get_listen_address (DiscoReloadNode *node);

/* Opens a link to @address and waits for it to be established (and the
 * peer certificate checked: it must carry @expected when non-NULL).  The
 * first link a node opens is its admitting peer: requests whose first
 * destination is not a directly connected node go there. */
void disco_reload_node_connect_async (DiscoReloadNode *node, GSocketAddress *address,
                                      DiscoReloadLinkMode mode, const DiscoReloadNodeId *expected,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
/* *@peer_out (may be NULL) gets the peer's Node-ID. */
gboolean disco_reload_node_connect_finish (DiscoReloadNode *node, GAsyncResult *result,
                                           DiscoReloadNodeId *peer_out, GError **error);

const DiscoReloadNodeId *disco_reload_node_get_node_id (DiscoReloadNode *node);
DiscoReloadIdentity *disco_reload_node_get_identity (DiscoReloadNode *node);
DiscoReloadConfig *disco_reload_node_get_config (DiscoReloadNode *node);
DiscoReloadTrust *disco_reload_node_get_trust (DiscoReloadNode *node);

typedef struct
{
  guint links;         /* open links */
  guint peers;         /* distinct Node-IDs on established links */
  guint64 requests_in; /* requests delivered locally */
  guint64 answers_out; /* answers (incl. errors) sent */
  guint64 forwarded;   /* messages forwarded to another node */
  guint64 dropped;     /* messages dropped (bad bytes, bad signature, ...) */
  guint64 errors_out;  /* Error responses sent */
  guint resources;     /* Resource-IDs with data */
  guint values;        /* StoredData held */
  /* Of @resources: those another peer is responsible for (Chord replicas
   * and not yet handed-over data); 0 without Chord, where a peer answers
   * for everything it holds.  resources - replicated are the stored ones. */
  guint replicated;
} DiscoReloadNodeStats;

/* Fills @stats (caller-allocated; nothing in it needs freeing). */
void disco_reload_node_get_stats (DiscoReloadNode *node, DiscoReloadNodeStats *stats);

/* What happened to a message at this node, for the per-type counters. */
typedef enum
{
  DISCO_RELOAD_NODE_FORWARDED, /* sent on towards its destination */
  DISCO_RELOAD_NODE_ANSWERED,  /* a request delivered here and answered (incl. with an Error) */
  DISCO_RELOAD_NODE_DROPPED,   /* refused: bad bytes, signature, TTL, no route, ... */
  DISCO_RELOAD_NODE_N_DIRECTIONS,
} DiscoReloadNodeDirection;

/* Counters of one message code.  forwarded and dropped count by the code of
 * the message that arrived (a fragment by its message's code); answered by
 * the code of the request answered.  They add up to the totals in
 * DiscoReloadNodeStats (forwarded, answers_out, dropped). */
typedef struct
{
  guint16 code;     /* message code, 0 when the bytes did not show one or it is undefined */
  const char *type; /* disco_reload_message_code_token(code); static */
  guint64 count[DISCO_RELOAD_NODE_N_DIRECTIONS];
} DiscoReloadNodeTypeStats;

/* One DiscoReloadNodeTypeStats per code with a non-zero counter, in code
 * order (Error last).  Caller owns the array (g_array_unref). */
GArray *disco_reload_node_get_type_stats (DiscoReloadNode *node);

/* "forwarded", "answered", "dropped"; static. */
const char *disco_reload_node_direction_name (DiscoReloadNodeDirection direction);

/* Open links with their peer and the framing layer's RTT estimate: a JSON
 * array of { "peer": hex Node-ID or null, "remote": "ADDR:PORT" or null,
 * "mode": "tls"/"plaintext"/..., "established": bool, "srtt_ms": number or
 * null (no sample yet), "rttvar_ms", "rto_ms": number }.  Caller owns it. */
json_object *disco_reload_node_links_to_json (DiscoReloadNode *node);

/* ---- CHORD-RELOAD ---------------------------------------------------------- */

/* The routing table as JSON (disco_chord_table_to_json: node_id,
 * predecessors, successors, fingers, peers) plus "joined" (our Join was
 * answered) and the counts of Join / Update / Leave requests answered; NULL when the node does not
 * run Chord.  Caller owns it. */
json_object *disco_reload_node_chord_to_json (DiscoReloadNode *node);

/* Graceful departure (RFC 6940 §10.7.3): Leave to the neighbours and the
 * stored data to the successor.  Sends are queued; run the main context a
 * little before freeing the node so they leave.  No-op without Chord. */
void disco_reload_node_chord_leave (DiscoReloadNode *node);

/* ---- requests ------------------------------------------------------------ */

/* A request with @code, the node's overlay / configuration sequence / TTL
 * and a fresh random transaction id, addressed to @dest (copied; NULL: the
 * wildcard Node-ID).  Fill the body, then pass it to request_async. */
DiscoReloadMessage *disco_reload_node_new_request (DiscoReloadNode *node, guint16 code,
                                                   const DiscoReloadDestination *dest);

/* Signs and sends @request (ownership taken) and completes with the answer.
 * Errors: DISCO_RELOAD_NODE_ERROR with an RFC error code (Error response or
 * REQUEST_TIMEOUT) or a DiscoReloadNodeError. */
void disco_reload_node_request_async (DiscoReloadNode *node, DiscoReloadMessage *request,
                                      GCancellable *cancellable, GAsyncReadyCallback callback,
                                      gpointer user_data);
/* The answer (caller frees); its signature has been verified and its code
 * is the request's + 1. */
DiscoReloadMessage *disco_reload_node_request_finish (DiscoReloadNode *node, GAsyncResult *result,
                                                      GError **error);

/* Shorthands: build the request (destination @dest, or the Resource-ID
 * @resource when @dest is NULL), take ownership of the listed bodies, and
 * call disco_reload_node_request_async().  Finish with
 * disco_reload_node_request_finish(). */
void disco_reload_node_ping_async (DiscoReloadNode *node, const DiscoReloadDestination *dest,
                                   GCancellable *cancellable, GAsyncReadyCallback callback,
                                   gpointer user_data);
/* @kind_data: DiscoReloadStoreKindData*, values already signed; emptied. */
void disco_reload_node_store_async (DiscoReloadNode *node, const DiscoReloadDestination *dest,
                                    const DiscoReloadResourceId *resource, GPtrArray *kind_data,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);
/* @specifiers: DiscoReloadStoredDataSpecifier*; emptied.  @code is
 * DISCO_RELOAD_FETCH_REQ or DISCO_RELOAD_STAT_REQ. */
void disco_reload_node_fetch_async (DiscoReloadNode *node, guint16 code,
                                    const DiscoReloadDestination *dest,
                                    const DiscoReloadResourceId *resource, GPtrArray *specifiers,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);

/* Signs @sd as this node for @resource / @kind (storage_time and value
 * must be final). */
gboolean disco_reload_node_sign_stored_data (DiscoReloadNode *node,
                                             const DiscoReloadResourceId *resource,
                                             DiscoReloadKindId kind, DiscoReloadStoredData *sd,
                                             GError **error);
/* Verifies a StoredData from a FetchAns against @answer's certificates and
 * the node's trust; the signer (may be NULL) is filled on success. */
gboolean disco_reload_node_verify_stored_data (DiscoReloadNode *node,
                                               const DiscoReloadMessage *answer,
                                               const DiscoReloadResourceId *resource,
                                               DiscoReloadKindId kind,
                                               const DiscoReloadStoredData *sd,
                                               DiscoReloadSigner *signer, GError **error);

/* ---- server-side extension point ------------------------------------------ */

/* Answers one request delivered locally: return the answer message (the node
 * fixes its header, signs and routes it) or NULL with @error set to a
 * DISCO_RELOAD_NODE_ERROR RFC code to answer with an Error response.
 * @signer is the verified signer; @link the link it arrived on. */
typedef DiscoReloadMessage *(*DiscoReloadRequestHandler) (DiscoReloadNode *node,
                                                          const DiscoReloadMessage *request,
                                                          const DiscoReloadSigner *signer,
                                                          DiscoReloadLink *link, gpointer user_data,
                                                          GError **error);

/* Replaces the built-in handling of request @code (NULL restores it). */
void disco_reload_node_set_handler (DiscoReloadNode *node, guint16 code,
                                    DiscoReloadRequestHandler handler, gpointer user_data);

/* Human-readable name of a message code ("Fetch request") and error code. */
const char *disco_reload_message_code_name (guint16 code);
/* Short lowercase name of a message code for labels ("fetch_req",
 * "fetch_ans", "error"; "unknown" for undefined codes); static. */
const char *disco_reload_message_code_token (guint16 code);
const char *disco_reload_error_code_name (guint16 code);

G_END_DECLS
