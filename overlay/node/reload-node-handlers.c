/* reload-node-handlers.c: the built-in answers to requests delivered
 * locally.  Storage methods go to the storage module. */
#define G_LOG_DOMAIN "disco-node"

#include "reload-node-private.h"

#include <string.h>

static DiscoReloadMessage *
answer_for (const DiscoReloadMessage *req)
{
  /* Header fields are filled in by serve_request(). */
  return disco_reload_message_new (req->message_code + 1);
}

static DiscoReloadMessage *
handle_ping (DiscoReloadNode *node, const DiscoReloadMessage *req, const DiscoReloadSigner *signer,
             DiscoReloadLink *link, gpointer user_data, GError **error)
{
  DiscoReloadMessage *ans = answer_for (req);
  ans->body.ping_ans.response_id = ((guint64)g_random_int () << 32) | g_random_int ();
  ans->body.ping_ans.time = (guint64)(g_get_real_time () / 1000);
  return ans;
}

static DiscoReloadMessage *
handle_probe (DiscoReloadNode *node, const DiscoReloadMessage *req, const DiscoReloadSigner *signer,
              DiscoReloadLink *link, gpointer user_data, GError **error)
{
  DiscoReloadMessage *ans = answer_for (req);
  DiscoReloadNodeStats stats;
  disco_reload_node_get_stats (node, &stats);
  GArray *want = req->body.probe_req.requested_info;
  for (guint i = 0; want && i < want->len; i++)
    {
      DiscoReloadProbeInformation info = { .type = g_array_index (want, guint8, i) };
      switch (info.type)
        {
          case DISCO_RELOAD_PROBE_RESPONSIBLE_SET:
            /* Without a topology a peer answers for the whole ring (in parts
             * per billion); a client for nothing. */
            info.value = node->client ? 0 : 1000000000u;
            break;
          case DISCO_RELOAD_PROBE_NUM_RESOURCES:
            info.value = stats.resources;
            break;
          case DISCO_RELOAD_PROBE_UPTIME:
            info.value = (guint32)((g_get_monotonic_time () - node->started_us) / G_USEC_PER_SEC);
            break;
          default:
            continue; /* only requested types we know, in the requested order */
        }
      g_array_append_val (ans->body.probe_ans.probe_info, info);
    }
  return ans;
}

static DiscoReloadMessage *
handle_attach (DiscoReloadNode *node, const DiscoReloadMessage *req,
               const DiscoReloadSigner *signer, DiscoReloadLink *link, gpointer user_data,
               GError **error)
{
  /* No-ICE overlay with TLS-TCP-FH: the answer names our listening socket as
   * a passive candidate; the requester opens a TLS link to it.  Without a
   * listener (a client) there is nothing to attach to. */
  GInetSocketAddress *addr = disco_reload_node_get_listen_address (node);
  if (addr == NULL || !node->config->no_ice)
    {
      g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_NOT_FOUND,
                   addr ? "ICE links are not implemented" : "this node accepts no links");
      return NULL;
    }
  GInetAddress *ip = g_inet_socket_address_get_address (addr);
  DiscoReloadMessage *ans = answer_for (req);
  DiscoReloadAttach *a = &ans->body.attach;
  g_free (a->ufrag);
  g_free (a->password);
  g_free (a->role);
  a->ufrag = g_strdup_printf ("%08x", g_random_int ());
  a->password = g_strdup_printf ("%08x%08x%08x", g_random_int (), g_random_int (), g_random_int ());
  a->role = g_strdup ("active");
  a->send_update = FALSE;
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
  g_ptr_array_add (a->candidates, c);
  return ans;
}

static DiscoReloadMessage *
handle_app_attach (DiscoReloadNode *node, const DiscoReloadMessage *req,
                   const DiscoReloadSigner *signer, DiscoReloadLink *link, gpointer user_data,
                   GError **error)
{
  /* RFC 6940 §6.5.2: an application we do not serve is Error_Not_Found.
   * SIP (5060/5061) connections belong to the SIP usage, not yet wired. */
  g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_NOT_FOUND,
               "no application %u on this node", req->body.attach.application);
  return NULL;
}

static DiscoReloadMessage *
handle_unsupported (DiscoReloadNode *node, const DiscoReloadMessage *req,
                    const DiscoReloadSigner *signer, DiscoReloadLink *link, gpointer user_data,
                    GError **error)
{
  g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
               "%s is not supported by this node",
               disco_reload_message_code_name (req->message_code));
  return NULL;
}

static DiscoReloadMessage *
handle_client_refusal (DiscoReloadNode *node, const DiscoReloadMessage *req,
                       const DiscoReloadSigner *signer, DiscoReloadLink *link, gpointer user_data,
                       GError **error)
{
  g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_NOT_FOUND,
               "a RELOAD client stores no data");
  return NULL;
}

void
disco_reload_node_set_handler (DiscoReloadNode *node, guint16 code,
                               DiscoReloadRequestHandler handler, gpointer user_data)
{
  if (handler == NULL)
    {
      g_hash_table_remove (node->handlers, GUINT_TO_POINTER (code));
      return;
    }
  NodeHandler *h = g_new0 (NodeHandler, 1);
  h->func = handler;
  h->user_data = user_data;
  g_hash_table_replace (node->handlers, GUINT_TO_POINTER (code), h);
}

void
disco_reload_node_handlers_init (DiscoReloadNode *node)
{
  node->handlers = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
}

void
disco_reload_node_handlers_dispose (DiscoReloadNode *node)
{
}

void
disco_reload_node_handlers_stats (DiscoReloadNode *node, DiscoReloadNodeStats *stats)
{
  disco_reload_node_storage_stats (node, stats);
}

DiscoReloadMessage *
disco_reload_node_handle_request (DiscoReloadNode *node, const DiscoReloadMessage *req,
                                  const DiscoReloadSigner *signer, DiscoReloadLink *link,
                                  GError **error)
{
  NodeHandler *h = g_hash_table_lookup (node->handlers, GUINT_TO_POINTER (req->message_code));
  if (h)
    return h->func (node, req, signer, link, h->user_data, error);

  switch (req->message_code)
    {
      case DISCO_RELOAD_PING_REQ:
        return handle_ping (node, req, signer, link, NULL, error);
      case DISCO_RELOAD_PROBE_REQ:
        return handle_probe (node, req, signer, link, NULL, error);
      case DISCO_RELOAD_ATTACH_REQ:
        return handle_attach (node, req, signer, link, NULL, error);
      case DISCO_RELOAD_APP_ATTACH_REQ:
        return handle_app_attach (node, req, signer, link, NULL, error);
      case DISCO_RELOAD_STORE_REQ:
      case DISCO_RELOAD_FETCH_REQ:
      case DISCO_RELOAD_STAT_REQ:
      case DISCO_RELOAD_FIND_REQ:
        if (node->client)
          return handle_client_refusal (node, req, signer, link, NULL, error);
        return disco_reload_node_handle_storage (node, req, signer, link, error);
      default:
        return handle_unsupported (node, req, signer, link, NULL, error);
    }
}
