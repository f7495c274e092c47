/* reload-node-client.c: outgoing requests (transaction matching,
 * end-to-end retransmission) and outgoing links. */
#define G_LOG_DOMAIN "disco-node"

#include "reload-node-private.h"

#include <string.h>

typedef struct
{
  DiscoReloadNode *node;
  guint64 txid;
  guint16 code;
  GBytes *bytes;         /* the signed, encoded request: retransmitted verbatim */
  DiscoReloadLink *link; /* where it was last sent (borrowed, may go away) */
  guint sends;
  guint timer;
  GTask *task;
  gboolean have_responder;
  DiscoReloadNodeId responder; /* a request to a Node-ID must be answered by it */
} Pending;

static void
pending_free (Pending *p)
{
  if (p->timer)
    g_source_remove (p->timer);
  g_clear_pointer (&p->bytes, g_bytes_unref);
  g_clear_object (&p->task);
  g_free (p);
}

/* Removes @p from the table and completes its task with @error (taken). */
static void
pending_fail (Pending *p, GError *error)
{
  GTask *task = g_object_ref (p->task);
  DiscoReloadNode *node = p->node;
  guint64 txid = p->txid;
  g_hash_table_remove (node->pending, &txid); /* frees p */
  g_task_return_error (task, error);
  g_object_unref (task);
}

void
disco_reload_node_client_init (DiscoReloadNode *node)
{
  node->pending
      = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify)pending_free);
}

void
disco_reload_node_client_dispose (DiscoReloadNode *node)
{
  if (node->pending)
    {
      GList *all = g_hash_table_get_values (node->pending);
      for (GList *l = all; l; l = l->next)
        pending_fail (l->data, g_error_new (DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_NODE_ERROR_CLOSED,
                                            "the node is shutting down"));
      g_list_free (all);
      g_clear_pointer (&node->pending, g_hash_table_unref);
    }
  while (node->connecting && node->connecting->len > 0)
    {
      GTask *t = g_ptr_array_steal_index (node->connecting, 0);
      g_task_return_new_error (t, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_NODE_ERROR_CLOSED,
                               "the node is shutting down");
      g_object_unref (t);
    }
}

/* ---- connecting ------------------------------------------------------------ */

void
disco_reload_node_connect_async (DiscoReloadNode *node, GSocketAddress *address,
                                 DiscoReloadLinkMode mode, const DiscoReloadNodeId *expected,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, disco_reload_node_connect_async);
  GError *error = NULL;
  DiscoReloadLink *link
      = disco_reload_link_connect (disco_reload_node_get_link_context (node), address, mode,
                                   expected, disco_reload_node_link_callbacks (), node, &error);
  if (link == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_task_set_task_data (task, disco_reload_link_ref (link),
                        (GDestroyNotify)disco_reload_link_unref);
  disco_reload_node_adopt_link (node, link);
  g_ptr_array_add (node->connecting, task);
}

gboolean
disco_reload_node_connect_finish (DiscoReloadNode *node, GAsyncResult *result,
                                  DiscoReloadNodeId *peer_out, GError **error)
{
  GTask *task = G_TASK (result);
  if (!g_task_propagate_boolean (task, error))
    return FALSE;
  DiscoReloadLink *link = g_task_get_task_data (task);
  const DiscoReloadNodeId *id = disco_reload_link_get_peer_node_id (link);
  if (peer_out && id)
    *peer_out = *id;
  return TRUE;
}

static void
finish_connects (DiscoReloadNode *node, DiscoReloadLink *link, const GError *error)
{
  for (guint i = 0; i < node->connecting->len;)
    {
      GTask *t = node->connecting->pdata[i];
      if (g_task_get_task_data (t) != link)
        {
          i++;
          continue;
        }
      g_ptr_array_remove_index (node->connecting, i);
      if (error)
        g_task_return_error (t, g_error_copy (error));
      else
        g_task_return_boolean (t, TRUE);
      g_object_unref (t);
    }
}

void
disco_reload_node_client_link_up (DiscoReloadNode *node, DiscoReloadLink *link)
{
  gboolean ours = FALSE;
  for (guint i = 0; i < node->connecting->len && !ours; i++)
    ours = g_task_get_task_data (node->connecting->pdata[i]) == link;
  /* The first link this node opened is where its requests go. */
  if (ours && (node->admitting == NULL || !disco_reload_link_is_open (node->admitting)))
    node->admitting = link;
  finish_connects (node, link, NULL);
}

void
disco_reload_node_client_link_down (DiscoReloadNode *node, DiscoReloadLink *link,
                                    const GError *error)
{
  finish_connects (node, link, error);
  gboolean any_open = FALSE;
  for (guint i = 0; i < node->links->len && !any_open; i++)
    any_open = disco_reload_link_is_open (node->links->pdata[i]);
  if (any_open)
    return; /* retransmissions will take another link */
  GList *all = g_hash_table_get_values (node->pending);
  for (GList *l = all; l; l = l->next)
    {
      Pending *p = l->data;
      if (p->link == link)
        pending_fail (p,
                      g_error_new (DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_NODE_ERROR_NOT_CONNECTED,
                                   "link closed: %s", error ? error->message : "?"));
    }
  g_list_free (all);
}

/* ---- requests ------------------------------------------------------------------ */

DiscoReloadMessage *
disco_reload_node_new_request (DiscoReloadNode *node, guint16 code,
                               const DiscoReloadDestination *dest)
{
  DiscoReloadMessage *msg = disco_reload_message_new (code);
  msg->header.overlay = node->config->overlay_hash;
  msg->header.configuration_sequence = node->config->sequence;
  msg->header.ttl = (guint8)MIN (node->config->initial_ttl, 255);
  do
    msg->header.transaction_id = ((guint64)g_random_int () << 32) | g_random_int ();
  while (msg->header.transaction_id == 0);
  DiscoReloadDestination d;
  if (dest)
    d = *dest;
  else
    {
      DiscoReloadNodeId any;
      memset (&any, 0xff, sizeof any);
      memset (&d, 0, sizeof d);
      disco_reload_destination_set_node (&d, &any);
    }
  g_array_append_val (msg->header.destination_list, d);
  return msg;
}

static gboolean
send_pending (Pending *p, GError **error)
{
  DiscoReloadNode *node = p->node;
  g_autoptr (DiscoReloadMessage) msg = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (p->bytes, &len);
  /* Re-routing needs the first destination; peek it from the header. */
  DiscoReloadForwardingHeader hdr;
  gsize hlen;
  disco_reload_forwarding_header_init (&hdr);
  DiscoReloadLink *link = NULL;
  if (disco_reload_forwarding_header_decode (data, len, &hdr, &hlen, NULL)
      && hdr.destination_list->len > 0)
    {
      DiscoReloadDestination *d = &g_array_index (hdr.destination_list, DiscoReloadDestination, 0);
      if (node->chord)
        link = disco_reload_node_chord_route (node, d, NULL);
      else if (d->type == DISCO_RELOAD_DESTINATION_NODE)
        link = disco_reload_node_find_link (node, &d->node);
    }
  disco_reload_forwarding_header_clear (&hdr);
  if (link == NULL && node->admitting && disco_reload_link_is_open (node->admitting))
    link = node->admitting;
  if (link == NULL)
    for (guint i = 0; i < node->links->len && link == NULL; i++)
      if (disco_reload_link_is_open (node->links->pdata[i]))
        link = node->links->pdata[i];
  if (link == NULL)
    {
      g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_NODE_ERROR_NOT_CONNECTED,
                   "not connected to any peer");
      return FALSE;
    }
  p->link = link;
  p->sends++;
  gsize max
      = disco_reload_link_context_get_max_message_size (disco_reload_node_get_link_context (node));
  if (len <= max)
    return disco_reload_link_send (link, p->bytes, error);
  g_autoptr (GPtrArray) frags = disco_reload_message_fragment (data, len, max, error);
  if (frags == NULL)
    return FALSE;
  for (guint i = 0; i < frags->len; i++)
    if (!disco_reload_link_send (link, frags->pdata[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
on_retransmit (gpointer user_data)
{
  Pending *p = user_data;
  if (p->sends >= DISCO_RELOAD_NODE_MAX_SENDS)
    {
      p->timer = 0;
      pending_fail (p, g_error_new (DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_REQUEST_TIMEOUT,
                                    "no answer to the %s after %u transmissions",
                                    disco_reload_message_code_name (p->code), p->sends));
      return G_SOURCE_REMOVE;
    }
  GError *error = NULL;
  g_debug ("retransmitting transaction %016" G_GINT64_MODIFIER "x", p->txid);
  if (!send_pending (p, &error))
    {
      p->timer = 0;
      pending_fail (p, error);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

void
disco_reload_node_request_async (DiscoReloadNode *node, DiscoReloadMessage *request,
                                 GCancellable *cancellable, GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (DiscoReloadMessage) req = request;
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, disco_reload_node_request_async);
  GError *error = NULL;

  if (!disco_reload_sign_message (node->identity, NULL, req, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_autoptr (GByteArray) out = g_byte_array_new ();
  if (!disco_reload_message_encode (req, out, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (g_hash_table_contains (node->pending, &req->header.transaction_id))
    {
      g_task_return_new_error (task, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_NODE_ERROR_BAD_ANSWER,
                               "transaction id already in use");
      g_object_unref (task);
      return;
    }
  Pending *p = g_new0 (Pending, 1);
  p->node = node;
  p->txid = req->header.transaction_id;
  p->code = req->message_code;
  p->bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  p->task = task;
  if (req->header.destination_list->len > 0)
    {
      const DiscoReloadDestination *last
          = &g_array_index (req->header.destination_list, DiscoReloadDestination,
                            req->header.destination_list->len - 1);
      /* CHORD-RELOAD: an Attach or RouteQuery to a Node-ID is answered by
       * the peer responsible for it (RFC 6940 §10.5, §10.7.4.3), which need
       * not be that node. */
      gboolean any_responder = node->chord != NULL
                               && (req->message_code == DISCO_RELOAD_ATTACH_REQ
                                   || req->message_code == DISCO_RELOAD_ROUTE_QUERY_REQ);
      if (last->type == DISCO_RELOAD_DESTINATION_NODE
          && !disco_reload_node_id_is_wildcard (&last->node) && !any_responder)
        {
          p->have_responder = TRUE;
          p->responder = last->node;
        }
    }
  guint64 txid = p->txid;
  g_hash_table_insert (node->pending, g_memdup2 (&p->txid, sizeof p->txid), p);
  if (!send_pending (p, &error))
    {
      pending_fail (p, error);
      return;
    }
  /* A write that fails closes the link at once, which fails (and frees)
   * the requests pending on it, this one included. */
  if (g_hash_table_lookup (node->pending, &txid) != p)
    return;
  guint interval = MAX (node->config->overlay_reliability_timer, 200);
  p->timer = g_timeout_add (interval, on_retransmit, p);
  /* @cancellable only reaches the GTask: a cancelled caller gets
   * G_IO_ERROR_CANCELLED, the transaction itself runs to its end. */
}

DiscoReloadMessage *
disco_reload_node_request_finish (DiscoReloadNode *node, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
disco_reload_node_client_answer (DiscoReloadNode *node, DiscoReloadMessage *msg,
                                 const DiscoReloadSigner *signer)
{
  g_autoptr (DiscoReloadMessage) ans = msg;
  guint64 txid = ans->header.transaction_id;
  Pending *p = g_hash_table_lookup (node->pending, &txid);
  if (p == NULL)
    return FALSE;
  /* RFC 6940 §6.3.4: an answer to a Node-ID must be signed by that node
   * (Errors may come from any node on the path); anything else is ignored
   * and the request keeps waiting. */
  if (p->have_responder && ans->message_code != DISCO_RELOAD_ERROR
      && !disco_reload_node_id_equal (&signer->node_id, &p->responder))
    {
      g_message ("ignoring an answer to transaction %016" G_GINT64_MODIFIER
                 "x signed by another node",
                 txid);
      return TRUE;
    }
  if (ans->message_code == DISCO_RELOAD_ERROR)
    {
      const DiscoReloadErrorResponse *e = &ans->body.error;
      g_autofree char *info = NULL;
      if (e->error_info && g_bytes_get_size (e->error_info) > 0)
        {
          gsize n;
          const char *d = g_bytes_get_data (e->error_info, &n);
          info = g_utf8_make_valid (d, (gssize)n);
        }
      pending_fail (p, g_error_new (DISCO_RELOAD_NODE_ERROR, e->error_code, "%s%s%s",
                                    disco_reload_error_code_name (e->error_code), info ? ": " : "",
                                    info ? info : ""));
      return TRUE;
    }
  if (ans->message_code != p->code + 1)
    {
      pending_fail (p, g_error_new (DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_NODE_ERROR_BAD_ANSWER,
                                    "a %s answered a %s",
                                    disco_reload_message_code_name (ans->message_code),
                                    disco_reload_message_code_name (p->code)));
      return TRUE;
    }
  GTask *task = g_object_ref (p->task);
  g_hash_table_remove (node->pending, &txid);
  g_task_return_pointer (task, g_steal_pointer (&ans), (GDestroyNotify)disco_reload_message_free);
  g_object_unref (task);
  return TRUE;
}

/* ---- shorthands ------------------------------------------------------------ */

static DiscoReloadMessage *
request_to (DiscoReloadNode *node, guint16 code, const DiscoReloadDestination *dest,
            const DiscoReloadResourceId *resource)
{
  DiscoReloadDestination d;
  if (dest == NULL && resource != NULL)
    {
      memset (&d, 0, sizeof d);
      disco_reload_destination_set_resource (&d, resource);
      dest = &d;
    }
  return disco_reload_node_new_request (node, code, dest);
}

void
disco_reload_node_ping_async (DiscoReloadNode *node, const DiscoReloadDestination *dest,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data)
{
  disco_reload_node_request_async (node, request_to (node, DISCO_RELOAD_PING_REQ, dest, NULL),
                                   cancellable, callback, user_data);
}

void
disco_reload_node_store_async (DiscoReloadNode *node, const DiscoReloadDestination *dest,
                               const DiscoReloadResourceId *resource, GPtrArray *kind_data,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  DiscoReloadMessage *req = request_to (node, DISCO_RELOAD_STORE_REQ, dest, resource);
  req->body.store_req.resource = *resource;
  while (kind_data && kind_data->len > 0)
    g_ptr_array_add (req->body.store_req.kind_data, g_ptr_array_steal_index (kind_data, 0));
  disco_reload_node_request_async (node, req, cancellable, callback, user_data);
}

void
disco_reload_node_fetch_async (DiscoReloadNode *node, guint16 code,
                               const DiscoReloadDestination *dest,
                               const DiscoReloadResourceId *resource, GPtrArray *specifiers,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_return_if_fail (code == DISCO_RELOAD_FETCH_REQ || code == DISCO_RELOAD_STAT_REQ);
  DiscoReloadMessage *req = request_to (node, code, dest, resource);
  req->body.fetch_req.resource = *resource;
  while (specifiers && specifiers->len > 0)
    g_ptr_array_add (req->body.fetch_req.specifiers, g_ptr_array_steal_index (specifiers, 0));
  disco_reload_node_request_async (node, req, cancellable, callback, user_data);
}
