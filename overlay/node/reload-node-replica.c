/* reload-node-replica.c: CHORD-RELOAD replication and data migration
 * (RFC 6940 §10.4, §10.5 step 6, §10.7.3).
 *
 * The responsible peer answers an original Store (replica_number 0) and
 * copies the slot to its first two successors with replica_number 1 and 2,
 * carrying its generation counter, so three peers hold every value.  When
 * the successor or predecessor set changes (a join, a leave, a crash seen
 * as a failed link), each peer pushes what it is now responsible for to
 * its current two successors again: a holder that died is replaced, and a
 * successor that took over a dead peer's range spreads its new share.
 * Old copies are never deleted here (§10.4 makes that optional); they
 * only ever make a Fetch succeed. */
#define G_LOG_DOMAIN "disco-node"

#include "reload-node-private.h"

#include <string.h>

/* Responsible peer + 2 successors. */
#define REPLICAS 3

static void
on_store_done (GObject *src, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) ans = disco_reload_node_request_finish (NULL, res, &error);
  if (ans == NULL)
    g_debug ("replica Store: %s", error->message);
  else if (ans->message_code == DISCO_RELOAD_ERROR)
    g_message ("replica Store refused: %s",
               disco_reload_error_code_name (ans->body.error.error_code));
}

/* The receiver verifies each value against its signer's certificate:
 * put the certificates we keep for this slot into the Store's security
 * block (a local Fetch collects them; signing adds ours after them). */
static void
attach_signer_certs (DiscoReloadNode *node, const DiscoReloadResourceId *resource,
                     DiscoReloadKindId kind, DiscoReloadMessage *store)
{
  DiscoReloadDataModel model = disco_reload_config_kind_model (kind, node->config);
  g_autoptr (DiscoReloadMessage) fetch = disco_reload_message_new (DISCO_RELOAD_FETCH_REQ);
  g_autoptr (DiscoReloadMessage) ans = disco_reload_message_new (DISCO_RELOAD_FETCH_ANS);
  fetch->body.fetch_req.resource = *resource;
  DiscoReloadStoredDataSpecifier *spec = disco_reload_stored_data_specifier_new (kind, model);
  if (model == DISCO_RELOAD_DATA_MODEL_ARRAY && spec->indices)
    {
      DiscoReloadArrayRange all = { 0, DISCO_RELOAD_ARRAY_LAST };
      g_array_append_val (spec->indices, all);
    }
  g_ptr_array_add (fetch->body.fetch_req.specifiers, spec);
  DiscoReloadErrorResponse err = { 0 };
  if (!disco_reload_storage_fetch (node->storage, &fetch->body.fetch_req, &ans->body.fetch_ans,
                                   store->security.certificates, &err))
    {
      /* Hand the error's fields to a message that frees them. */
      g_autoptr (DiscoReloadMessage) e = disco_reload_message_new (DISCO_RELOAD_ERROR);
      g_clear_pointer (&e->body.error.error_info, g_bytes_unref);
      e->body.error = err;
    }
}

typedef struct
{
  DiscoReloadNode *node;
  DiscoReloadNodeId to;
  guint8 replica_number;
  DiscoReloadNodeSlotFilter filter;
  gpointer data;
  guint sent;
} Push;

static void
push_slot (const DiscoReloadResourceId *resource, DiscoReloadStoreKindData *kd, gpointer user_data)
{
  Push *p = user_data;
  DiscoReloadNodeId rid;
  if (!disco_chord_id_from_resource (resource, &rid))
    return;
  if (p->filter && !p->filter (p->node, &rid, p->data))
    return;
  if (kd->values == NULL || kd->values->len == 0 || kd->generation_counter == 0)
    return;
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_node (&d, &p->to);
  DiscoReloadMessage *req = disco_reload_node_new_request (p->node, DISCO_RELOAD_STORE_REQ, &d);
  req->body.store_req.resource = *resource;
  req->body.store_req.replica_number = p->replica_number;
  attach_signer_certs (p->node, resource, kd->kind, req);
  /* Values carry their remaining lifetime; the generation is the slot's,
   * which a replica receiver takes over unchanged (§7.4.1.1). */
  DiscoReloadStoreKindData *copy
      = disco_reload_store_kind_data_new (kd->kind, kd->generation_counter);
  while (kd->values->len > 0)
    g_ptr_array_add (copy->values, g_ptr_array_steal_index (kd->values, 0));
  g_ptr_array_add (req->body.store_req.kind_data, copy);
  disco_reload_node_request_async (p->node, req, p->node->chord_cancel, on_store_done, NULL);
  p->node->replica_stores_out++;
  p->sent++;
}

guint
disco_reload_node_replica_push (DiscoReloadNode *node, const DiscoReloadNodeId *to,
                                guint8 replica_number, DiscoReloadNodeSlotFilter filter,
                                gpointer data)
{
  if (node->storage == NULL || node->chord == NULL || to == NULL
      || disco_reload_node_id_equal (to, disco_reload_node_get_node_id (node)))
    return 0;
  Push p = {
    .node = node, .to = *to, .replica_number = replica_number, .filter = filter, .data = data
  };
  disco_reload_storage_foreach (node->storage, push_slot, &p);
  return p.sent;
}

/* ---- replicas of a new Store -------------------------------------------------- */

static gboolean
same_resource (DiscoReloadNode *node, const DiscoReloadNodeId *resource, gpointer data)
{
  return disco_reload_node_id_equal (resource, data);
}

static gboolean
responsible_for (DiscoReloadNode *node, const DiscoReloadNodeId *resource, gpointer data)
{
  return disco_chord_table_is_responsible (node->chord, resource);
}

/* Our first REPLICAS - 1 successors, copied (the table may change while
 * we send). */
static guint
replica_set (DiscoReloadNode *node, DiscoReloadNodeId out[REPLICAS - 1])
{
  const DiscoReloadNodeId *succ;
  guint n = disco_chord_table_replica_peers (node->chord, REPLICAS, &succ);
  n = MIN (n, REPLICAS - 1);
  memcpy (out, succ, n * sizeof *out);
  return n;
}

static DiscoReloadMessage *
handle_store (DiscoReloadNode *node, const DiscoReloadMessage *req, const DiscoReloadSigner *signer,
              DiscoReloadLink *link, gpointer user_data, GError **error)
{
  DiscoReloadMessage *ans = disco_reload_node_handle_storage (node, req, signer, link, error);
  if (ans == NULL || ans->message_code != DISCO_RELOAD_STORE_ANS)
    return ans;
  if (req->body.store_req.replica_number != 0)
    {
      node->replica_stores_in++; /* replicas are not replicated further (§10.4) */
      return ans;
    }
  DiscoReloadNodeId set[REPLICAS - 1];
  guint n = replica_set (node, set);
  DiscoReloadNodeId rid;
  if (!disco_chord_id_from_resource (&req->body.store_req.resource, &rid))
    return ans;
  for (guint i = 0; i < ans->body.store_ans.kind_responses->len; i++)
    {
      DiscoReloadStoreKindResponse *kr = ans->body.store_ans.kind_responses->pdata[i];
      if (kr->replicas == NULL)
        kr->replicas = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
      g_array_append_vals (kr->replicas, set, n);
    }
  for (guint i = 0; i < n; i++)
    disco_reload_node_replica_push (node, &set[i], (guint8)(i + 1), same_resource, &rid);
  return ans;
}

/* ---- re-replication ----------------------------------------------------------------- */

static gboolean
replicate_now (gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  node->replicate_source = 0;
  if (!node->joined)
    return G_SOURCE_REMOVE;
  DiscoReloadNodeId set[REPLICAS - 1];
  guint n = replica_set (node, set), sent = 0;
  for (guint i = 0; i < n; i++)
    sent += disco_reload_node_replica_push (node, &set[i], (guint8)(i + 1), responsible_for, NULL);
  if (sent)
    g_message ("chord: re-replicated %u slot copies to %u successor(s)", sent, n);
  return G_SOURCE_REMOVE;
}

void
disco_reload_node_replica_schedule (DiscoReloadNode *node)
{
  /* A join or failure moves several entries in a row; the successor set
   * settles within about one stabilization round. */
  if (node->chord && node->storage && node->replicate_source == 0)
    node->replicate_source = g_timeout_add (MIN (node->stabilize_ms, 2000), replicate_now, node);
}

void
disco_reload_node_replica_init (DiscoReloadNode *node)
{
  disco_reload_node_set_handler (node, DISCO_RELOAD_STORE_REQ, handle_store, NULL);
}

void
disco_reload_node_replica_dispose (DiscoReloadNode *node)
{
  if (node->replicate_source)
    g_source_remove (node->replicate_source);
  node->replicate_source = 0;
}
