/* reload-node-private.h: DiscoReloadNode internals shared by its files. */
#pragma once

#include "reload-node.h"
#include "disco-chord.h"
#include "reload-storage.h"

/* RFC 6940 §6.2.1: answers to retransmissions must stay the same for the
 * maximum request lifetime. */
#define DISCO_RELOAD_NODE_ANSWER_CACHE_US (15 * G_USEC_PER_SEC)
#define DISCO_RELOAD_NODE_ANSWER_CACHE_MAX 4096
#define DISCO_RELOAD_NODE_MAX_SENDS 5

/* Counter slots: defined codes are all below 0x23; Error has the last. */
#define DISCO_RELOAD_NODE_TYPE_ERROR_SLOT 0x23
#define DISCO_RELOAD_NODE_TYPE_SLOTS (DISCO_RELOAD_NODE_TYPE_ERROR_SLOT + 1)

typedef struct
{
  DiscoReloadRequestHandler func;
  gpointer user_data;
} NodeHandler;

typedef struct
{
  GBytes *answer; /* encoded, signed answer */
  gint64 expires_us;
} CachedAnswer;

struct _DiscoReloadNode
{
  DiscoReloadIdentity *identity;
  DiscoReloadConfig *config;
  DiscoReloadLinkContext *link_ctx;
  DiscoReloadListener *listener;
  DiscoReloadReassembler *reassembler;
  gboolean client;
  gint64 started_us;

  GPtrArray *links;           /* DiscoReloadLink*, owned, in open order */
  DiscoReloadLink *admitting; /* borrowed from links: where requests go by default */
  GHashTable *pending;        /* guint64* txid -> Pending* (client requests) */
  GHashTable *answers;        /* guint64* txid -> CachedAnswer* */
  GHashTable *handlers;       /* code -> NodeHandler* */
  guint housekeeping;
  DiscoReloadNodeStats stats;
  GPtrArray *connecting;       /* GTask* of connect_async still waiting */
  GPtrArray *draining;         /* DiscoReloadLink* flushing a last answer before closing */
  DiscoReloadStorage *storage; /* NULL for clients */
  /* Certificates fetched from CERTIFICATE_BY_NODE / _BY_USER, falling back
   * to the ones this peer stores: signer identities whose certificate a
   * message or Fetch answer does not carry resolve here (RFC 6940 §8). */
  DiscoReloadCertPool *cert_cache;

  /* Chord (reload-node-chord.c); chord is NULL when the topology is off. */
  DiscoChordTable *chord;
  guint stabilize_ms;
  guint stabilize_source;
  guint update_idle;     /* a pending "tell the neighbours" */
  GHashTable *attaching; /* hex Node-ID -> TRUE: Attach/connect in flight */
  gboolean joined;
  gboolean join_started;
  gboolean chord_first;
  guint64 joins_in, updates_in, leaves_in; /* answered Join / Update / Leave */
  guint finger_cursor;
  guint stabilize_ticks;
  GCancellable *chord_cancel;
  guint replicate_source;     /* debounced re-replication */
  guint64 replica_stores_out; /* replica / handover Stores sent */
  guint64 replica_stores_in;  /* replica Stores accepted */

  /* reload-node-stats.c: DiscoReloadNodeDirection counters per code slot;
   * stats.forwarded / dropped up to attributed_* are in them already. */
  guint64 type_counts[DISCO_RELOAD_NODE_TYPE_SLOTS][DISCO_RELOAD_NODE_N_DIRECTIONS];
  guint64 attributed_forwarded, attributed_dropped;
};

/* reload-node.c */
gboolean disco_reload_node_send_message (DiscoReloadNode *node, DiscoReloadMessage *msg,
                                         DiscoReloadLink *fallback, GError **error);
DiscoReloadMessage *disco_reload_node_new_answer (DiscoReloadNode *node,
                                                  const DiscoReloadForwardingHeader *request,
                                                  DiscoReloadLink *link, guint16 code);
void disco_reload_node_send_error (DiscoReloadNode *node,
                                   const DiscoReloadForwardingHeader *request,
                                   DiscoReloadLink *link, guint16 error_code, const char *text);
DiscoReloadLink *disco_reload_node_find_link (DiscoReloadNode *node, const DiscoReloadNodeId *id);
void disco_reload_node_adopt_link (DiscoReloadNode *node, DiscoReloadLink *link);
const DiscoReloadLinkCallbacks *disco_reload_node_link_callbacks (void);
DiscoReloadLinkContext *disco_reload_node_get_link_context (DiscoReloadNode *node);

/* reload-node-chord.c */
void disco_reload_node_chord_init (DiscoReloadNode *node, const DiscoReloadNodeSettings *s);
void disco_reload_node_chord_dispose (DiscoReloadNode *node);  /* stops timers, cancels */
void disco_reload_node_chord_finalize (DiscoReloadNode *node); /* frees the state */
/* A link came up / went away (peer Node-ID known). @outbound: we opened it. */
void disco_reload_node_chord_link_up (DiscoReloadNode *node, DiscoReloadLink *link,
                                      gboolean outbound);
void disco_reload_node_chord_link_down (DiscoReloadNode *node, DiscoReloadLink *link);
/* The link a request for @d should take next, or NULL when this node is
 * responsible (or runs no Chord).  Never @from. */
DiscoReloadLink *disco_reload_node_chord_route (DiscoReloadNode *node,
                                                const DiscoReloadDestination *d,
                                                DiscoReloadLink *from);
/* TRUE when a request for @d that came over @from is ours to answer. */
gboolean disco_reload_node_chord_is_local (DiscoReloadNode *node, const DiscoReloadDestination *d,
                                           DiscoReloadLink *from);

/* TRUE when our own Node-ID is in @hdr's via list: the request has been
 * here before (answered with Error_Loop_Detected, RFC 7851). */
gboolean disco_reload_node_chord_via_loops (DiscoReloadNode *node,
                                            const DiscoReloadForwardingHeader *hdr);
/* Graceful leave / replication (reload-node-replica.c). */
void disco_reload_node_replica_init (DiscoReloadNode *node);
void disco_reload_node_replica_dispose (DiscoReloadNode *node);
/* The successor or predecessor set changed: re-replicate soon. */
void disco_reload_node_replica_schedule (DiscoReloadNode *node);
/* Sends every value we hold for a resource @filter accepts to @to, with
 * @replica_number (handover: 1 or more); returns the Store count. */
typedef gboolean (*DiscoReloadNodeSlotFilter) (DiscoReloadNode *node,
                                               const DiscoReloadNodeId *resource, gpointer data);
guint disco_reload_node_replica_push (DiscoReloadNode *node, const DiscoReloadNodeId *to,
                                      guint8 replica_number, DiscoReloadNodeSlotFilter filter,
                                      gpointer data);

/* reload-node-client.c */
void disco_reload_node_client_init (DiscoReloadNode *node);
void disco_reload_node_client_dispose (DiscoReloadNode *node);
/* Completes the pending request @msg answers; FALSE when none matched. */
gboolean disco_reload_node_client_answer (DiscoReloadNode *node, DiscoReloadMessage *msg,
                                          const DiscoReloadSigner *signer);
void disco_reload_node_client_link_up (DiscoReloadNode *node, DiscoReloadLink *link);
void disco_reload_node_client_link_down (DiscoReloadNode *node, DiscoReloadLink *link,
                                         const GError *error);

/* reload-node-handlers.c */
void disco_reload_node_handlers_init (DiscoReloadNode *node);
void disco_reload_node_handlers_dispose (DiscoReloadNode *node);
/* Fills the storage counts of @stats. */
void disco_reload_node_handlers_stats (DiscoReloadNode *node, DiscoReloadNodeStats *stats);
/* Runs the handler for @req; returns the answer or NULL with @error. */
DiscoReloadMessage *disco_reload_node_handle_request (DiscoReloadNode *node,
                                                      const DiscoReloadMessage *req,
                                                      const DiscoReloadSigner *signer,
                                                      DiscoReloadLink *link, GError **error);

/* reload-node-storage.c */
/* Remembers the certificates of @ans's certificate-kind values. */
void disco_reload_node_cache_fetched_certs (DiscoReloadNode *node, const DiscoReloadFetchAns *ans);
DiscoReloadMessage *disco_reload_node_handle_storage (DiscoReloadNode *node,
                                                      const DiscoReloadMessage *req,
                                                      const DiscoReloadSigner *signer,
                                                      DiscoReloadLink *link, GError **error);
void disco_reload_node_storage_stats (DiscoReloadNode *node, DiscoReloadNodeStats *stats);

/* reload-node-stats.c */
void disco_reload_node_count_type (DiscoReloadNode *node, DiscoReloadNodeDirection direction,
                                   guint16 code);
/* Books the forwarded / dropped totals not yet booked to a type to @code
 * (0: unknown).  Called when a received message has been dealt with. */
void disco_reload_node_attribute_totals (DiscoReloadNode *node, guint16 code);
/* Fills the stats fields this file owns (replicated). */
void disco_reload_node_stats_fill (DiscoReloadNode *node, DiscoReloadNodeStats *stats);
