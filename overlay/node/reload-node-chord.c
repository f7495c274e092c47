/* reload-node-chord.c: the CHORD-RELOAD topology plugin wired into the node
 * (RFC 6940 §10): routing by the DiscoChordTable, Join through the
 * admitting peer, Update / stabilization, Leave and data handover.
 *
 * Simplifications (documented in reload-node.h): links are direct TLS to
 * the passive candidate of an Attach answer (no ICE); fingers are repaired
 * with Attach to the finger target (§10.7.4.3) one per stabilization tick;
 * handed-over data is stored with replica_number 1 and kept locally too. */
#define G_LOG_DOMAIN "disco-node"

#include "reload-node-private.h"

#include <string.h>

/* How many far fingers the stabilization cycles through (finger i covers
 * self + 2^(127 - i)): the far half of a small ring is all that matters. */
#define FINGERS_REPAIRED 16
/* Periodic (not reactive) Updates every this many stabilization ticks. */
#define UPDATE_EVERY_TICKS 5

static void schedule_update (DiscoReloadNode *node);

/* ---- identifiers ----------------------------------------------------------- */

static gboolean
dest_id (const DiscoReloadDestination *d, DiscoReloadNodeId *out)
{
  if (d->type == DISCO_RELOAD_DESTINATION_NODE)
    {
      *out = d->node;
      return !disco_reload_node_id_is_wildcard (&d->node);
    }
  if (d->type == DISCO_RELOAD_DESTINATION_RESOURCE)
    return disco_chord_id_from_resource (&d->resource, out);
  return FALSE;
}

static gboolean
is_self (DiscoReloadNode *node, const DiscoReloadNodeId *id)
{
  return disco_reload_node_id_equal (id, disco_reload_node_get_node_id (node));
}

static void
on_change (DiscoReloadNode *node, DiscoChordChange change)
{
  if (change & (DISCO_CHORD_CHANGED_SUCCESSORS | DISCO_CHORD_CHANGED_PREDECESSORS))
    {
      schedule_update (node);
      disco_reload_node_replica_schedule (node);
    }
}

/* ---- routing --------------------------------------------------------------- */

DiscoReloadLink *
disco_reload_node_chord_route (DiscoReloadNode *node, const DiscoReloadDestination *d,
                               DiscoReloadLink *from)
{
  DiscoReloadNodeId id;
  if (node->chord == NULL || !dest_id (d, &id) || is_self (node, &id))
    return NULL;
  DiscoReloadLink *l;
  /* §6.1: a node in the connection table is sent to directly. */
  if (d->type == DISCO_RELOAD_DESTINATION_NODE)
    {
      l = disco_reload_node_find_link (node, &id);
      if (l && l != from)
        return l;
    }
  /* The greedy hop, else the next best one that still makes progress:
   * never back where the message came from (the previous hop's table
   * disagrees with ours; bouncing would only loop), never a link that is
   * gone. */
  g_autoptr (GArray) hops = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  guint n = disco_chord_table_next_hops (node->chord, &id, hops);
  const DiscoReloadNodeId *hop = n ? &g_array_index (hops, DiscoReloadNodeId, 0) : NULL;
  for (guint i = 0; i < n; i++)
    {
      l = disco_reload_node_find_link (node, &g_array_index (hops, DiscoReloadNodeId, i));
      if (l && l != from && disco_reload_link_is_open (l))
        return l;
    }
  /* Not in the ring yet: our admitting peer knows better than our table. */
  if (!node->joined && node->admitting && node->admitting != from
      && disco_reload_link_is_established (node->admitting))
    return node->admitting;
  /* A node we are responsible for but that is not in the ring (a client,
   * or a peer still joining) is reached over its direct link, unless the
   * message came from it: then it is asking for its own Node-ID (Join). */
  if (d->type == DISCO_RELOAD_DESTINATION_NODE && hop == NULL)
    {
      l = disco_reload_node_find_link (node, &id);
      if (l && l != from)
        return l;
    }
  return NULL;
}

gboolean
disco_reload_node_chord_is_local (DiscoReloadNode *node, const DiscoReloadDestination *d,
                                  DiscoReloadLink *from)
{
  DiscoReloadNodeId id;
  if (node->chord == NULL || !dest_id (d, &id))
    return FALSE;
  /* Until its Join is answered a peer is nobody's responsible peer: were it
   * to answer Attaches for finger targets, others would link to it and
   * route its own Join Attach back to it. */
  if (!node->joined)
    return FALSE;
  /* RFC 6940 §6.1: another peer's Node-ID in our range is not ours to
   * answer (an Attach meant for a candidate must not be answered by us:
   * the requester would link to the wrong Node-ID).  Finger and Join
   * Attaches go to Resource-IDs. */
  if (d->type != DISCO_RELOAD_DESTINATION_RESOURCE)
    return FALSE;
  return disco_chord_table_is_responsible (node->chord, &id);
}

gboolean
disco_reload_node_chord_via_loops (DiscoReloadNode *node, const DiscoReloadForwardingHeader *hdr)
{
  if (node->chord == NULL)
    return FALSE;
  /* Each forwarder appends its previous hop: our own Node-ID in the via
   * list means the message has been through us already. */
  for (guint i = 0; i < hdr->via_list->len; i++)
    {
      const DiscoReloadDestination *v = &g_array_index (hdr->via_list, DiscoReloadDestination, i);
      if (v->type == DISCO_RELOAD_DESTINATION_NODE && is_self (node, &v->node))
        return TRUE;
    }
  return FALSE;
}

/* ---- sending helpers ---------------------------------------------------------- */

/* Callbacks may run after the node is gone (node_free fails its requests
 * later): they only touch the node while its chord_cancel is not
 * cancelled, and keep their own reference to it. */
static gboolean
node_alive (GCancellable *cancel)
{
  return !g_cancellable_is_cancelled (cancel);
}

static void
on_fire_and_forget (GObject *src, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) ans = disco_reload_node_request_finish (NULL, res, &error);
  if (ans == NULL)
    g_debug ("%s: %s", (const char *)user_data, error->message);
}

static DiscoReloadMessage *
request_to_node (DiscoReloadNode *node, guint16 code, const DiscoReloadNodeId *id)
{
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_node (&d, id);
  return disco_reload_node_new_request (node, code, &d);
}

/* Our listening socket as the passive candidate of an Attach request. */
static void
fill_attach (DiscoReloadNode *node, DiscoReloadAttach *a)
{
  g_free (a->ufrag);
  g_free (a->password);
  g_free (a->role);
  a->ufrag = g_strdup_printf ("%08x", g_random_int ());
  a->password = g_strdup_printf ("%08x%08x%08x", g_random_int (), g_random_int (), g_random_int ());
  a->role = g_strdup ("passive");
  a->send_update = TRUE;
  GInetSocketAddress *addr = disco_reload_node_get_listen_address (node);
  if (addr == NULL)
    return;
  GInetAddress *ip = g_inet_socket_address_get_address (addr);
  DiscoReloadIceCandidate *c = disco_reload_ice_candidate_new ();
  gsize n = g_inet_address_get_native_size (ip);
  c->addr_port.type = n == 4 ? 1 : 2;
  memcpy (c->addr_port.addr, g_inet_address_to_bytes (ip), n);
  c->addr_port.port = g_inet_socket_address_get_port (addr);
  c->overlay_link = DISCO_RELOAD_OVERLAY_LINK_TLS_TCP_FH_NO_ICE;
  g_free (c->foundation);
  c->foundation = g_strdup ("1");
  c->priority = 1;
  c->type = DISCO_RELOAD_CAND_HOST;
  if (a->candidates == NULL)
    a->candidates
        = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_ice_candidate_free);
  g_ptr_array_add (a->candidates, c);
}

/* The first usable TLS-TCP candidate of an Attach answer. */
static GSocketAddress *
answer_address (const DiscoReloadMessage *ans)
{
  const DiscoReloadAttach *a = &ans->body.attach;
  for (guint i = 0; a->candidates && i < a->candidates->len; i++)
    {
      const DiscoReloadIceCandidate *c = a->candidates->pdata[i];
      if (c->addr_port.type != 1 && c->addr_port.type != 2)
        continue;
      g_autoptr (GInetAddress) ip = g_inet_address_new_from_bytes (
          c->addr_port.addr, c->addr_port.type == 1 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6);
      if (c->addr_port.port == 0)
        continue;
      return g_inet_socket_address_new (ip, c->addr_port.port);
    }
  return NULL;
}

/* ---- attaching to peers ---------------------------------------------------------- */

typedef struct
{
  DiscoReloadNode *node;
  GCancellable *cancel; /* the node's chord_cancel, referenced */
  char *key;            /* entry in node->attaching, or NULL */
  gboolean join;        /* the Attach to our own Node-ID: then Join the answerer */
  gboolean have_expected;
  DiscoReloadNodeId expected;
} AttachOp;

static void
attach_op_free (AttachOp *op)
{
  if (op->key && node_alive (op->cancel))
    g_hash_table_remove (op->node->attaching, op->key);
  g_object_unref (op->cancel);
  g_free (op->key);
  g_free (op);
}

static void send_join (DiscoReloadNode *node, const DiscoReloadNodeId *ap);

static void
on_attach_connected (GObject *src, GAsyncResult *res, gpointer user_data)
{
  AttachOp *op = user_data;
  DiscoReloadNode *node = op->node;
  g_autoptr (GError) error = NULL;
  DiscoReloadNodeId peer;
  if (!disco_reload_node_connect_finish (NULL, res, &peer, &error))
    {
      if (node_alive (op->cancel))
        {
          g_message ("chord: link after Attach failed: %s", error->message);
          if (op->join)
            node->join_started = FALSE; /* the next stabilization retries */
        }
      attach_op_free (op);
      return;
    }
  if (op->join && node_alive (op->cancel))
    send_join (node, &peer);
  attach_op_free (op);
}

/* An established link we opened to @addr, or NULL. */
static DiscoReloadLink *
linked_to (DiscoReloadNode *node, GInetSocketAddress *addr)
{
  for (guint i = 0; i < node->links->len; i++)
    {
      DiscoReloadLink *l = node->links->pdata[i];
      g_autoptr (GSocketAddress) r = disco_reload_link_get_remote_address (l);
      if (!disco_reload_link_is_established (l) || r == NULL || !G_IS_INET_SOCKET_ADDRESS (r)
          || disco_reload_link_get_peer_node_id (l) == NULL)
        continue;
      GInetSocketAddress *ir = G_INET_SOCKET_ADDRESS (r);
      if (g_inet_socket_address_get_port (ir) == g_inet_socket_address_get_port (addr)
          && g_inet_address_equal (g_inet_socket_address_get_address (ir),
                                   g_inet_socket_address_get_address (addr)))
        return l;
    }
  return NULL;
}

static void
on_attach_answer (GObject *src, GAsyncResult *res, gpointer user_data)
{
  AttachOp *op = user_data;
  DiscoReloadNode *node = op->node;
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) ans = disco_reload_node_request_finish (NULL, res, &error);
  if (ans == NULL || !node_alive (op->cancel))
    {
      if (node_alive (op->cancel))
        {
          g_message ("chord: Attach failed: %s", error->message);
          if (op->join)
            node->join_started = FALSE;
        }
      attach_op_free (op);
      return;
    }
  g_autoptr (GSocketAddress) addr = answer_address (ans);
  if (addr == NULL)
    {
      g_message ("chord: Attach answer without a usable candidate");
      if (op->join)
        node->join_started = FALSE;
      attach_op_free (op);
      return;
    }
  GInetSocketAddress *own = disco_reload_node_get_listen_address (node);
  if (own
      && g_inet_socket_address_get_port (own)
             == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr))
      && g_inet_address_equal (g_inet_socket_address_get_address (own),
                               g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr))))
    {
      /* We are the responsible peer ourselves (someone routed our own
       * Attach back to us): a Join must be tried again, not forgotten. */
      if (op->join)
        node->join_started = FALSE;
      attach_op_free (op);
      return;
    }
  DiscoReloadLink *have = linked_to (node, G_INET_SOCKET_ADDRESS (addr));
  if (have)
    {
      /* A peer we have a link to already (our bootstrap as admitting
       * peer, a finger we know). */
      if (op->join)
        send_join (node, disco_reload_link_get_peer_node_id (have));
      attach_op_free (op);
      return;
    }
  disco_reload_node_connect_async (node, addr, DISCO_RELOAD_LINK_TLS,
                                   op->have_expected ? &op->expected : NULL, node->chord_cancel,
                                   on_attach_connected, op);
}

typedef enum
{
  ATTACH_PEER,     /* a known peer's Node-ID: link to exactly it */
  ATTACH_RESOURCE, /* whoever is responsible for the ID (a finger target) */
  ATTACH_JOIN,     /* §10.5: Resource-ID self + 1, then Join the answerer */
} AttachMode;

/* Attach to @target and link to the peer that answers.  A peer named by
 * another (@via, may be NULL) is source-routed through it (§10.5: the
 * announcer has a link to it, the ring may not route to it yet). */
static void
attach_to (DiscoReloadNode *node, const DiscoReloadNodeId *target, AttachMode mode,
           const DiscoReloadNodeId *via)
{
  gboolean expect = mode == ATTACH_PEER, join = mode == ATTACH_JOIN;
  g_autofree char *key = disco_reload_node_id_to_hex (target);
  if (g_hash_table_contains (node->attaching, key))
    return;
  DiscoReloadMessage *req;
  if (mode == ATTACH_PEER)
    {
      DiscoReloadDestination d;
      memset (&d, 0, sizeof d);
      disco_reload_destination_set_node (&d, target);
      if (via && !is_self (node, via) && !disco_reload_node_id_equal (via, target))
        {
          req = request_to_node (node, DISCO_RELOAD_ATTACH_REQ, via);
          g_array_append_val (req->header.destination_list, d);
        }
      else
        req = request_to_node (node, DISCO_RELOAD_ATTACH_REQ, target);
    }
  else
    {
      DiscoReloadNodeId id = *target;
      if (join)
        disco_chord_id_add_pow2 (target, 0, &id);
      DiscoReloadResourceId rid = { .len = DISCO_RELOAD_NODE_ID_LENGTH };
      memcpy (rid.id, id.id, DISCO_RELOAD_NODE_ID_LENGTH);
      DiscoReloadDestination d;
      memset (&d, 0, sizeof d);
      disco_reload_destination_set_resource (&d, &rid);
      req = disco_reload_node_new_request (node, DISCO_RELOAD_ATTACH_REQ, &d);
    }
  fill_attach (node, &req->body.attach);
  AttachOp *op = g_new0 (AttachOp, 1);
  op->node = node;
  op->cancel = g_object_ref (node->chord_cancel);
  op->key = g_strdup (key);
  op->join = join;
  op->have_expected = expect;
  op->expected = *target;
  g_hash_table_add (node->attaching, g_steal_pointer (&key));
  disco_reload_node_request_async (node, req, node->chord_cancel, on_attach_answer, op);
}

/* ---- Join (RFC 6940 §10.5, joining side) ---------------------------------------- */

static void
on_join_answer (GObject *src, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GCancellable) cancel = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) ans = disco_reload_node_request_finish (NULL, res, &error);
  if (!node_alive (cancel))
    return;
  DiscoReloadNode *node = g_object_get_data (G_OBJECT (cancel), "disco-node");
  if (ans == NULL)
    {
      g_message ("chord: Join failed: %s", error->message);
      node->join_started = FALSE;
      return;
    }
  node->joined = TRUE;
  g_message ("chord: joined the overlay");
  schedule_update (node);
}

static void
send_join (DiscoReloadNode *node, const DiscoReloadNodeId *ap)
{
  g_autofree char *hex = disco_reload_node_id_to_hex (ap);
  g_message ("chord: joining through admitting peer %s", hex);
  DiscoReloadMessage *req = request_to_node (node, DISCO_RELOAD_JOIN_REQ, ap);
  req->body.join_leave.node_id = *disco_reload_node_get_node_id (node);
  disco_reload_node_request_async (node, req, node->chord_cancel, on_join_answer,
                                   g_object_ref (node->chord_cancel));
}

static void
start_join (DiscoReloadNode *node)
{
  node->join_started = TRUE;
  /* §10.5 step 2: an Attach to our own Node-ID reaches the peer responsible
   * for it, our future successor (the admitting peer). */
  attach_to (node, disco_reload_node_get_node_id (node), ATTACH_JOIN, NULL);
}

/* ---- handover (RFC 6940 §10.5 step 6, §10.7.3) ---------------------------------- */

static gboolean
not_responsible (DiscoReloadNode *node, const DiscoReloadNodeId *resource, gpointer data)
{
  return !disco_chord_table_is_responsible (node->chord, resource);
}

/* @all (Leave): everything, else what we are no longer responsible for.
 * Handed-over values keep their generation and travel as replica Stores
 * (the receiver checks them, not the original writer's rights); we keep
 * our copy, since after a join we are the new peer's first replica. */
static void
handover (DiscoReloadNode *node, const DiscoReloadNodeId *to, gboolean all)
{
  guint sent = disco_reload_node_replica_push (node, to, 1, all ? NULL : not_responsible, NULL);
  if (sent)
    g_message ("chord: handed %u slot(s) over", sent);
}

/* ---- Update ------------------------------------------------------------------ */

static guint32
uptime (DiscoReloadNode *node)
{
  return (guint32)((g_get_monotonic_time () - node->started_us) / G_USEC_PER_SEC);
}

static void
send_update_to (DiscoReloadNode *node, const DiscoReloadNodeId *to)
{
  DiscoReloadMessage *req = request_to_node (node, DISCO_RELOAD_UPDATE_REQ, to);
  DiscoReloadChordUpdate *u = &req->body.update_req;
  g_clear_pointer (&u->predecessors, g_array_unref);
  g_clear_pointer (&u->successors, g_array_unref);
  g_clear_pointer (&u->fingers, g_array_unref);
  disco_chord_table_fill_update (node->chord, uptime (node), u);
  disco_reload_node_request_async (node, req, node->chord_cancel, on_fire_and_forget, "Update");
}

/* Updates to every distinct neighbour. */
static void
send_updates (DiscoReloadNode *node)
{
  if (!node->joined)
    return; /* §10.5: a joining peer announces itself only after its Join */
  const DiscoReloadNodeId *succ, *pred;
  guint ns = disco_chord_table_get_successors (node->chord, &succ);
  guint np = disco_chord_table_get_predecessors (node->chord, &pred);
  g_autoptr (GArray) sent = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  for (guint i = 0; i < ns + np; i++)
    {
      const DiscoReloadNodeId *id = i < ns ? &succ[i] : &pred[i - ns];
      gboolean dup = FALSE;
      for (guint j = 0; j < sent->len && !dup; j++)
        dup = disco_reload_node_id_equal (id, &g_array_index (sent, DiscoReloadNodeId, j));
      if (dup)
        continue;
      g_array_append_val (sent, *id);
    }
  for (guint j = 0; j < sent->len; j++)
    send_update_to (node, &g_array_index (sent, DiscoReloadNodeId, j));
}

static gboolean
on_update_idle (gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  node->update_idle = 0;
  send_updates (node);
  return G_SOURCE_REMOVE;
}

static void
schedule_update (DiscoReloadNode *node)
{
  /* Changes come in bursts (a join moves several entries): one round. */
  if (node->update_idle == 0)
    node->update_idle = g_timeout_add (50, on_update_idle, node);
}

static void
attach_candidates (DiscoReloadNode *node, GArray *candidates, const DiscoReloadNodeId *via)
{
  for (guint i = 0; i < candidates->len; i++)
    {
      const DiscoReloadNodeId *id = &g_array_index (candidates, DiscoReloadNodeId, i);
      if (disco_reload_node_find_link (node, id))
        {
          /* Linked already (it linked to us): it is a peer. */
          on_change (node, disco_chord_table_add_peer (node->chord, id));
          continue;
        }
      attach_to (node, id, ATTACH_PEER, via);
    }
}

/* The sender of a Join/Update/Leave on a direct link is a ring member. */
static const DiscoReloadNodeId *
direct_peer (const DiscoReloadMessage *req, const DiscoReloadSigner *signer, DiscoReloadLink *link)
{
  const DiscoReloadNodeId *id = disco_reload_link_get_peer_node_id (link);
  if (id == NULL || req->header.via_list->len != 0
      || !disco_reload_node_id_equal (id, &signer->node_id))
    return NULL;
  return id;
}

static DiscoReloadMessage *
handle_update (DiscoReloadNode *node, const DiscoReloadMessage *req,
               const DiscoReloadSigner *signer, DiscoReloadLink *link, gpointer user_data,
               GError **error)
{
  const DiscoReloadNodeId *from = direct_peer (req, signer, link);
  if (from)
    on_change (node, disco_chord_table_add_peer (node->chord, from));
  g_autoptr (GArray) candidates = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  disco_chord_table_collect_update (node->chord, &req->body.update_req, candidates);
  attach_candidates (node, candidates, from);
  node->updates_in++;
  return disco_reload_message_new (DISCO_RELOAD_UPDATE_ANS);
}

/* ---- Join / Leave / RouteQuery (answering side) -------------------------------- */

static DiscoReloadMessage *
handle_join (DiscoReloadNode *node, const DiscoReloadMessage *req, const DiscoReloadSigner *signer,
             DiscoReloadLink *link, gpointer user_data, GError **error)
{
  const DiscoReloadNodeId *from = direct_peer (req, signer, link);
  if (from == NULL || !disco_reload_node_id_equal (from, &req->body.join_leave.node_id))
    {
      g_message ("chord: refusing a Join over %s (via %u hops)", disco_reload_link_describe (link),
                 req->header.via_list->len);
      g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_FORBIDDEN,
                   "a Join must come from the joining peer over its own link");
      return NULL;
    }
  g_autofree char *hex = disco_reload_node_id_to_hex (from);
  g_message ("chord: %s joins", hex);
  on_change (node, disco_chord_table_add_peer (node->chord, from));
  schedule_update (node);
  /* §10.5 step 6: the new peer gets what it now owns (the Stores leave
   * on the same link just before the JoinAns). */
  handover (node, from, FALSE);
  node->joins_in++;
  return disco_reload_message_new (DISCO_RELOAD_JOIN_ANS);
}

static DiscoReloadMessage *
handle_leave (DiscoReloadNode *node, const DiscoReloadMessage *req, const DiscoReloadSigner *signer,
              DiscoReloadLink *link, gpointer user_data, GError **error)
{
  if (!disco_reload_node_id_equal (&signer->node_id, &req->body.join_leave.node_id))
    {
      g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_FORBIDDEN,
                   "a Leave must be signed by the leaving peer");
      return NULL;
    }
  g_autofree char *hex = disco_reload_node_id_to_hex (&signer->node_id);
  g_message ("chord: %s leaves", hex);
  on_change (node, disco_chord_table_remove_peer (node->chord, &signer->node_id));
  DiscoReloadChordLeaveData ld;
  disco_reload_chord_leave_data_init (&ld);
  if (req->body.join_leave.overlay_specific_data
      && disco_reload_chord_leave_data_decode (req->body.join_leave.overlay_specific_data, &ld,
                                               NULL))
    {
      DiscoReloadChordUpdate u = { .type = DISCO_RELOAD_CHORD_UPDATE_NEIGHBORS };
      u.successors = ld.node_ids;
      g_autoptr (GArray) candidates = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
      disco_chord_table_collect_update (node->chord, &u, candidates);
      GArray *keep = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
      for (guint i = 0; i < candidates->len; i++)
        if (!disco_reload_node_id_equal (&g_array_index (candidates, DiscoReloadNodeId, i),
                                         &signer->node_id))
          g_array_append_val (keep, g_array_index (candidates, DiscoReloadNodeId, i));
      attach_candidates (node, keep, NULL);
      g_array_unref (keep);
    }
  disco_reload_chord_leave_data_clear (&ld);
  node->leaves_in++;
  return disco_reload_message_new (DISCO_RELOAD_LEAVE_ANS);
}

static DiscoReloadMessage *
handle_route_query (DiscoReloadNode *node, const DiscoReloadMessage *req,
                    const DiscoReloadSigner *signer, DiscoReloadLink *link, gpointer user_data,
                    GError **error)
{
  DiscoReloadNodeId id;
  if (!dest_id (&req->body.route_query_req.destination, &id))
    {
      g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
                   "RouteQuery for an unroutable destination");
      return NULL;
    }
  DiscoReloadMessage *ans = disco_reload_message_new (DISCO_RELOAD_ROUTE_QUERY_ANS);
  const DiscoReloadNodeId *hop = disco_chord_table_next_hop (node->chord, &id);
  ans->body.route_query_ans.next_peer = hop ? *hop : *disco_reload_node_get_node_id (node);
  return ans;
}

/* ---- Leave (leaving side) --------------------------------------------------------- */

static void
send_leave (DiscoReloadNode *node, const DiscoReloadNodeId *to, guint8 type,
            const DiscoReloadNodeId *ids, guint n)
{
  DiscoReloadChordLeaveData ld;
  disco_reload_chord_leave_data_init (&ld);
  ld.type = type;
  g_array_append_vals (ld.node_ids, ids, n);
  g_autoptr (GError) error = NULL;
  GBytes *osd = disco_reload_chord_leave_data_encode (&ld, &error);
  disco_reload_chord_leave_data_clear (&ld);
  if (osd == NULL)
    {
      g_warning ("chord: cannot encode ChordLeaveData: %s", error->message);
      return;
    }
  DiscoReloadMessage *req = request_to_node (node, DISCO_RELOAD_LEAVE_REQ, to);
  req->body.join_leave.node_id = *disco_reload_node_get_node_id (node);
  req->body.join_leave.overlay_specific_data = osd;
  disco_reload_node_request_async (node, req, node->chord_cancel, on_fire_and_forget, "Leave");
}

void
disco_reload_node_chord_leave (DiscoReloadNode *node)
{
  if (node->chord == NULL)
    return;
  const DiscoReloadNodeId *succ, *pred;
  guint ns = disco_chord_table_get_successors (node->chord, &succ);
  guint np = disco_chord_table_get_predecessors (node->chord, &pred);
  /* Copies: sending does not change the table, but be safe. */
  g_autofree DiscoReloadNodeId *s = g_memdup2 (succ, ns * sizeof *s);
  g_autofree DiscoReloadNodeId *p = g_memdup2 (pred, np * sizeof *p);
  if (ns > 0)
    handover (node, &s[0], TRUE);
  for (guint i = 0; i < ns; i++)
    send_leave (node, &s[i], DISCO_RELOAD_CHORD_LEAVE_FROM_PRED, p, np);
  for (guint i = 0; i < np; i++)
    send_leave (node, &p[i], DISCO_RELOAD_CHORD_LEAVE_FROM_SUCC, s, ns);
  node->joined = FALSE;
}

/* ---- stabilization ------------------------------------------------------------- */

static gboolean
stabilize (gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  if (!node->join_started && !node->joined && node->admitting
      && disco_reload_link_is_established (node->admitting))
    start_join (node);
  else if (!node->join_started && !node->joined && node->chord_first)
    node->joined = TRUE; /* the first peer forms the ring by itself */
  /* Changes are announced at once (schedule_update); the periodic round
   * only repairs what a lost Update missed, so it need not run every
   * tick: each Update is signed and verified, and a ring of sanitized
   * peers on a small machine spends its CPU on little else. */
  if (node->stabilize_ticks++ % UPDATE_EVERY_TICKS == 0)
    send_updates (node);
  /* §10.7.4.3: one far finger per round, Attach to its target; not
   * before we are in the ring (the answers would only be our admitting
   * peer's view, and the extra links slow the join down). */
  if (node->joined && disco_chord_table_peer_count (node->chord) > 0)
    {
      guint i = node->finger_cursor++ % FINGERS_REPAIRED;
      DiscoReloadNodeId target;
      disco_chord_table_finger_target (node->chord, i, &target);
      DiscoReloadDestination d;
      memset (&d, 0, sizeof d);
      disco_reload_destination_set_node (&d, &target);
      /* The answer names the responsible peer's address; a peer we
       * already have a link to is not linked twice (see on_attach_answer). */
      if (!disco_chord_table_is_responsible (node->chord, &target))
        attach_to (node, &target, ATTACH_RESOURCE, NULL);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- links ---------------------------------------------------------------------- */

void
disco_reload_node_chord_link_up (DiscoReloadNode *node, DiscoReloadLink *link, gboolean outbound)
{
  if (node->chord == NULL)
    return;
  const DiscoReloadNodeId *id = disco_reload_link_get_peer_node_id (link);
  if (id == NULL || !outbound)
    return; /* inbound links join the table with the peer's Join or Update */
  on_change (node, disco_chord_table_add_peer (node->chord, id));
  if (!node->join_started && !node->joined)
    start_join (node);
}

void
disco_reload_node_chord_link_down (DiscoReloadNode *node, DiscoReloadLink *link)
{
  if (node->chord == NULL)
    return;
  const DiscoReloadNodeId *id = disco_reload_link_get_peer_node_id (link);
  if (id == NULL || disco_reload_node_find_link (node, id) != NULL)
    return; /* another link to the same peer still works */
  on_change (node, disco_chord_table_remove_peer (node->chord, id));
}

/* ---- lifecycle -------------------------------------------------------------------- */

void
disco_reload_node_chord_init (DiscoReloadNode *node, const DiscoReloadNodeSettings *s)
{
  if (!s->chord || s->client)
    return;
  node->chord = disco_chord_table_new (disco_reload_node_get_node_id (node));
  node->stabilize_ms = s->stabilize_ms ? s->stabilize_ms : 5000;
  node->chord_first = s->chord_first;
  node->joined = s->chord_first; /* the first peer forms the ring by itself */
  node->attaching = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  node->chord_cancel = g_cancellable_new ();
  g_object_set_data (G_OBJECT (node->chord_cancel), "disco-node", node);
  node->stabilize_source = g_timeout_add (node->stabilize_ms, stabilize, node);
  disco_reload_node_set_handler (node, DISCO_RELOAD_UPDATE_REQ, handle_update, NULL);
  disco_reload_node_set_handler (node, DISCO_RELOAD_JOIN_REQ, handle_join, NULL);
  disco_reload_node_set_handler (node, DISCO_RELOAD_LEAVE_REQ, handle_leave, NULL);
  disco_reload_node_set_handler (node, DISCO_RELOAD_ROUTE_QUERY_REQ, handle_route_query, NULL);
  disco_reload_node_replica_init (node);
}

void
disco_reload_node_chord_dispose (DiscoReloadNode *node)
{
  if (node->chord == NULL)
    return;
  if (node->stabilize_source)
    g_source_remove (node->stabilize_source);
  node->stabilize_source = 0;
  if (node->update_idle)
    g_source_remove (node->update_idle);
  node->update_idle = 0;
  disco_reload_node_replica_dispose (node);
  g_cancellable_cancel (node->chord_cancel);
}

void
disco_reload_node_chord_finalize (DiscoReloadNode *node)
{
  g_clear_object (&node->chord_cancel);
  g_clear_pointer (&node->attaching, g_hash_table_unref);
  g_clear_pointer (&node->chord, disco_chord_table_unref);
}

json_object *
disco_reload_node_chord_to_json (DiscoReloadNode *node)
{
  if (node->chord == NULL)
    return NULL;
  json_object *o = disco_chord_table_to_json (node->chord);
  json_object_object_add (o, "joined", json_object_new_boolean (node->joined));
  json_object_object_add (o, "joins_answered", json_object_new_int64 ((gint64)node->joins_in));
  json_object_object_add (o, "updates_answered", json_object_new_int64 ((gint64)node->updates_in));
  json_object_object_add (o, "leaves_answered", json_object_new_int64 ((gint64)node->leaves_in));
  json_object_object_add (o, "replica_stores_out",
                          json_object_new_int64 ((gint64)node->replica_stores_out));
  json_object_object_add (o, "replica_stores_in",
                          json_object_new_int64 ((gint64)node->replica_stores_in));
  return o;
}
