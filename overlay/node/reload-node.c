/* reload-node.c: links, the receive path (reassembly, header checks,
 * routing, decode, signature check) and sending. */
#define G_LOG_DOMAIN "disco-node"

#include "reload-node-private.h"

#include <string.h>

G_DEFINE_QUARK (disco - reload - node - error - quark, disco_reload_node_error)

/* Reassembly bounds (RFC 6940 §6.7 leaves them to the node): per link, a
 * few messages in progress and their bytes; and in all. */
#define REASSEMBLIES_PER_LINK 8
#define REASSEMBLY_MESSAGES_PER_LINK 4 /* x max-message-size buffered */
#define REASSEMBLIES_MAX 1024
/* Bytes a fragment leaves free for the via list entries added on the way
 * (RFC 6940 §6.7: PMTU - 32). */
#define VIA_ROOM 32

static void on_link_established (DiscoReloadLink *link, gpointer user_data);
static void on_link_message (DiscoReloadLink *link, GBytes *message, gpointer user_data);
static void on_link_too_large (DiscoReloadLink *link, GBytes *head, gsize announced,
                               gpointer user_data);
static void on_link_closed (DiscoReloadLink *link, const GError *error, gpointer user_data);

static const DiscoReloadLinkCallbacks link_callbacks = {
  .established = on_link_established,
  .message = on_link_message,
  .too_large = on_link_too_large,
  .closed = on_link_closed,
};

static DiscoReloadDataModel
kind_model (DiscoReloadKindId kind, gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  return disco_reload_config_kind_model (kind, node->config);
}

/* ---- links --------------------------------------------------------------- */

static void
forget_link (DiscoReloadNode *node, DiscoReloadLink *link)
{
  if (node->admitting == link)
    node->admitting = NULL;
  disco_reload_reassembler_forget (node->reassembler, link);
  g_ptr_array_remove (node->links, link); /* drops our reference */
}

DiscoReloadLink *
disco_reload_node_find_link (DiscoReloadNode *node, const DiscoReloadNodeId *id)
{
  for (guint i = 0; i < node->links->len; i++)
    {
      DiscoReloadLink *l = node->links->pdata[i];
      const DiscoReloadNodeId *peer = disco_reload_link_get_peer_node_id (l);
      if (peer && disco_reload_link_is_established (l) && disco_reload_node_id_equal (peer, id))
        return l;
    }
  return NULL;
}

static void
on_accepted (DiscoReloadListener *listener, DiscoReloadLink *link, gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  g_ptr_array_add (node->links, link); /* takes the reference */
}

static void
on_link_established (DiscoReloadLink *link, gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  g_debug ("%s established", disco_reload_link_describe (link));
  gboolean outbound = FALSE;
  for (guint i = 0; i < node->connecting->len && !outbound; i++)
    outbound = g_task_get_task_data (node->connecting->pdata[i]) == link;
  disco_reload_link_ref (link);
  /* The table first: completing a connect may send over it at once. */
  disco_reload_node_chord_link_up (node, link, outbound);
  disco_reload_node_client_link_up (node, link);
  disco_reload_link_unref (link);
}

static void
on_link_closed (DiscoReloadLink *link, const GError *error, gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  g_message ("%s closed: %s", disco_reload_link_describe (link), error->message);
  disco_reload_link_ref (link);
  forget_link (node, link);
  disco_reload_node_client_link_down (node, link, error);
  disco_reload_node_chord_link_down (node, link);
  disco_reload_link_unref (link);
}

/* ---- answers and errors ---------------------------------------------------- */

static void
set_wildcard (DiscoReloadDestination *d)
{
  DiscoReloadNodeId any;
  memset (&any, 0xff, sizeof any);
  memset (d, 0, sizeof *d);
  disco_reload_destination_set_node (d, &any);
}

DiscoReloadMessage *
disco_reload_node_new_answer (DiscoReloadNode *node, const DiscoReloadForwardingHeader *req,
                              DiscoReloadLink *link, guint16 code)
{
  DiscoReloadMessage *ans = disco_reload_message_new (code);
  ans->header.overlay = node->config->overlay_hash;
  ans->header.configuration_sequence = node->config->sequence;
  ans->header.ttl = (guint8)MIN (node->config->initial_ttl, 255);
  ans->header.transaction_id = req->transaction_id;

  /* RFC 6940 §6.1.2: the previous hop, then the via list reversed. */
  DiscoReloadDestination d;
  const DiscoReloadNodeId *prev = link ? disco_reload_link_get_peer_node_id (link) : NULL;
  if (prev)
    {
      memset (&d, 0, sizeof d);
      disco_reload_destination_set_node (&d, prev);
    }
  else
    set_wildcard (&d); /* a plaintext peer we know no Node-ID of yet */
  g_array_append_val (ans->header.destination_list, d);
  for (guint i = req->via_list->len; i > 0; i--)
    g_array_append_val (ans->header.destination_list,
                        g_array_index (req->via_list, DiscoReloadDestination, i - 1));
  return ans;
}

void
disco_reload_node_send_error (DiscoReloadNode *node, const DiscoReloadForwardingHeader *req,
                              DiscoReloadLink *link, guint16 error_code, const char *text)
{
  g_autoptr (DiscoReloadMessage) ans
      = disco_reload_node_new_answer (node, req, link, DISCO_RELOAD_ERROR);
  ans->body.error.error_code = error_code;
  if (text)
    ans->body.error.error_info = g_bytes_new (text, strlen (text));
  g_autoptr (GError) error = NULL;
  g_debug ("answering transaction %016" G_GINT64_MODIFIER "x with %s: %s", req->transaction_id,
           disco_reload_error_code_name (error_code), text ? text : "");
  node->stats.errors_out++;
  if (!disco_reload_node_send_message (node, ans, link, &error))
    g_message ("cannot send an error answer: %s", error->message);
}

/* ---- sending ------------------------------------------------------------------ */

static gboolean
send_bytes_on (DiscoReloadNode *node, DiscoReloadLink *link, const guint8 *data, gsize len,
               GError **error)
{
  gsize max = disco_reload_link_context_get_max_message_size (node->link_ctx);
  if (len <= max)
    {
      g_autoptr (GBytes) b = g_bytes_new (data, len);
      return disco_reload_link_send (link, b, error);
    }
  /* RFC 6940 §6.7: larger messages travel as fragments, with room for
   * the via list entries the peers on the way add. */
  gsize room = max > 4 * VIA_ROOM ? max - VIA_ROOM : max;
  g_autoptr (GPtrArray) frags = disco_reload_message_fragment (data, len, room, error);
  if (frags == NULL)
    return FALSE;
  for (guint i = 0; i < frags->len; i++)
    if (!disco_reload_link_send (link, frags->pdata[i], error))
      return FALSE;
  return TRUE;
}

/* Picks the link for a message whose first destination is @d. */
static DiscoReloadLink *
route_for (DiscoReloadNode *node, const DiscoReloadDestination *d, DiscoReloadLink *fallback)
{
  if (d && d->type == DISCO_RELOAD_DESTINATION_NODE && !disco_reload_node_id_is_wildcard (&d->node))
    {
      DiscoReloadLink *l = disco_reload_node_find_link (node, &d->node);
      if (l)
        return l;
    }
  if (d && node->chord)
    {
      DiscoReloadLink *l = disco_reload_node_chord_route (node, d, NULL);
      if (l)
        return l;
    }
  if (fallback && disco_reload_link_is_open (fallback))
    return fallback;
  if (node->admitting && disco_reload_link_is_open (node->admitting))
    return node->admitting;
  return NULL;
}

gboolean
disco_reload_node_send_message (DiscoReloadNode *node, DiscoReloadMessage *msg,
                                DiscoReloadLink *fallback, GError **error)
{
  if (msg->security.signature.identity.type != DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH
      && msg->security.signature.identity.type != DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID
      && !disco_reload_sign_message (node->identity, NULL, msg, error))
    return FALSE;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  if (!disco_reload_message_encode (msg, out, error))
    return FALSE;
  const DiscoReloadDestination *first
      = msg->header.destination_list->len
            ? &g_array_index (msg->header.destination_list, DiscoReloadDestination, 0)
            : NULL;
  DiscoReloadLink *link = route_for (node, first, fallback);
  if (link == NULL)
    {
      g_set_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_NODE_ERROR_NOT_CONNECTED,
                   "no link to send a %s on", disco_reload_message_code_name (msg->message_code));
      return FALSE;
    }
  /* A destination list that starts with the next hop itself is consumed by
   * it; nothing to strip here (the receiver pops its own Node-ID). */
  return send_bytes_on (node, link, out->data, out->len, error);
}

/* ---- receiving -------------------------------------------------------------- */

static gboolean
is_request_code (guint16 code)
{
  return DISCO_RELOAD_MESSAGE_CODE_IS_REQUEST (code);
}

/* The message code right after the forwarding header, or 0 when the bytes
 * stop before it. */
static guint16
peek_code (const guint8 *data, gsize len, gsize header_len)
{
  if (len < header_len + 2)
    return 0;
  return (guint16)((data[header_len] << 8) | data[header_len + 1]);
}

static gboolean
is_me (DiscoReloadNode *node, const DiscoReloadDestination *d)
{
  return d->type == DISCO_RELOAD_DESTINATION_NODE
         && (disco_reload_node_id_equal (&d->node, disco_reload_node_get_node_id (node))
             || disco_reload_node_id_is_wildcard (&d->node));
}

static void
expire_answers (DiscoReloadNode *node, gint64 now)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, node->answers);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((CachedAnswer *)v)->expires_us <= now)
      g_hash_table_iter_remove (&it);
}

static void
cached_answer_free (CachedAnswer *c)
{
  g_bytes_unref (c->answer);
  g_free (c);
}

/* Answers a locally delivered request; the answer goes back on @link (or
 * wherever its destination list leads). */
static void
serve_request (DiscoReloadNode *node, const DiscoReloadMessage *req,
               const DiscoReloadSigner *signer, DiscoReloadLink *link)
{
  guint64 txid = req->header.transaction_id;
  gint64 now = g_get_monotonic_time ();
  CachedAnswer *cached = g_hash_table_lookup (node->answers, &txid);
  if (cached && cached->expires_us > now)
    {
      /* A retransmission: the same answer again, not a second execution. */
      g_autoptr (GError) error = NULL;
      gsize len;
      const guint8 *data = g_bytes_get_data (cached->answer, &len);
      DiscoReloadLink *out = link;
      if (!send_bytes_on (node, out, data, len, &error))
        g_message ("cannot resend an answer: %s", error->message);
      return;
    }

  node->stats.requests_in++;
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) ans
      = disco_reload_node_handle_request (node, req, signer, link, &error);
  if (ans == NULL)
    {
      guint16 code = DISCO_RELOAD_ERROR_INVALID_MESSAGE;
      if (error && error->domain == DISCO_RELOAD_NODE_ERROR && error->code < 0x100)
        code = (guint16)error->code;
      ans = disco_reload_node_new_answer (node, &req->header, link, DISCO_RELOAD_ERROR);
      ans->body.error.error_code = code;
      if (error)
        ans->body.error.error_info = g_bytes_new (error->message, strlen (error->message));
      node->stats.errors_out++;
      g_clear_error (&error);
    }
  else
    {
      /* Whatever the handler filled in, the routing fields are ours. */
      g_autoptr (DiscoReloadMessage) shell
          = disco_reload_node_new_answer (node, &req->header, link, ans->message_code);
      disco_reload_forwarding_header_clear (&ans->header);
      ans->header = shell->header;
      disco_reload_forwarding_header_init (&shell->header);
    }

  if (!disco_reload_sign_message (node->identity, NULL, ans, &error))
    {
      g_warning ("cannot sign an answer: %s", error->message);
      return;
    }
  g_autoptr (GByteArray) out = g_byte_array_new ();
  if (!disco_reload_message_encode (ans, out, &error))
    {
      g_warning ("cannot encode a %s: %s", disco_reload_message_code_name (ans->message_code),
                 error->message);
      return;
    }
  guint32 max_response = req->header.max_response_length;
  if (max_response != 0 && out->len > max_response && ans->message_code != DISCO_RELOAD_ERROR)
    {
      /* RFC 6940 §6.3.2 / §6.3.3.1: the requester cannot take more. */
      g_autofree char *text = g_strdup_printf ("a %s of %u bytes exceeds max_response_length %u",
                                               disco_reload_message_code_name (ans->message_code),
                                               out->len, max_response);
      g_debug ("answering transaction %016" G_GINT64_MODIFIER "x with Error_Response_Too_Large: %s",
               txid, text);
      g_clear_pointer (&ans, disco_reload_message_free);
      ans = disco_reload_node_new_answer (node, &req->header, link, DISCO_RELOAD_ERROR);
      ans->body.error.error_code = DISCO_RELOAD_ERROR_RESPONSE_TOO_LARGE;
      ans->body.error.error_info = g_bytes_new (text, strlen (text));
      node->stats.errors_out++;
      g_byte_array_set_size (out, 0);
      if (!disco_reload_sign_message (node->identity, NULL, ans, &error)
          || !disco_reload_message_encode (ans, out, &error))
        {
          g_warning ("cannot make an Error_Response_Too_Large: %s", error->message);
          return;
        }
    }
  GBytes *bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  if (g_hash_table_size (node->answers) >= DISCO_RELOAD_NODE_ANSWER_CACHE_MAX)
    expire_answers (node, now);
  if (g_hash_table_size (node->answers) < DISCO_RELOAD_NODE_ANSWER_CACHE_MAX)
    {
      CachedAnswer *c = g_new0 (CachedAnswer, 1);
      c->answer = g_bytes_ref (bytes);
      c->expires_us = now + DISCO_RELOAD_NODE_ANSWER_CACHE_US;
      g_hash_table_replace (node->answers, g_memdup2 (&txid, sizeof txid), c);
    }
  const DiscoReloadDestination *first
      = &g_array_index (ans->header.destination_list, DiscoReloadDestination, 0);
  DiscoReloadLink *target = route_for (node, first, link);
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  node->stats.answers_out++;
  disco_reload_node_count_type (node, DISCO_RELOAD_NODE_ANSWERED, req->message_code);
  if (target == NULL || !send_bytes_on (node, target, data, len, &error))
    g_message ("cannot send a %s: %s", disco_reload_message_code_name (ans->message_code),
               error ? error->message : "no link");
  g_bytes_unref (bytes);
}

/* RFC 6940 §6.3.2.3: this node understands no forwarding option, so an
 * option flagged critical for what it is about to do (forward, or answer
 * at the destination) stops the message.  Requests get
 * Error_Unsupported_Forwarding_Option; answers cannot be refused and are
 * dropped.  FALSE when the message must go no further. */
static gboolean
check_options (DiscoReloadNode *node, const DiscoReloadForwardingHeader *hdr, DiscoReloadLink *link,
               gboolean request, gboolean at_destination)
{
  g_autoptr (GError) error = NULL;
  if (disco_reload_forwarding_options_check (hdr, NULL, 0, at_destination, &error))
    return TRUE;
  node->stats.dropped++;
  if (request)
    disco_reload_node_send_error (node, hdr, link, DISCO_RELOAD_ERROR_UNSUPPORTED_FORWARDING_OPTION,
                                  error->message);
  else
    g_message ("dropping an answer from %s: %s", disco_reload_link_describe (link), error->message);
  return FALSE;
}

/* Full decode + checks for a message that ends here. */
static void
deliver_locally (DiscoReloadNode *node, GBytes *bytes, const DiscoReloadForwardingHeader *hdr,
                 gsize header_len, DiscoReloadLink *link)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  guint16 code = peek_code (data, len, header_len);
  gboolean request = is_request_code (code);
  static const guint16 no_extensions[] = { 0 };
  DiscoReloadDecodeOptions opts = {
    .max_message_size = disco_reload_link_context_get_max_message_size (node->link_ctx),
    .initial_ttl = (guint8)MIN (node->config->initial_ttl, 255),
    .kind_model = kind_model,
    .kind_model_data = node,
    .known_extensions = no_extensions,
    .n_known_extensions = 0,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) msg = NULL;

  if (!check_options (node, hdr, link, request, TRUE))
    return;
  if (!disco_reload_message_decode_full (bytes, &opts, &msg, &error))
    {
      guint16 rfc = disco_reload_wire_error_to_rfc (error);
      node->stats.dropped++;
      if (rfc && request)
        disco_reload_node_send_error (node, hdr, link, rfc, error->message);
      else
        g_message ("dropping an undecodable message from %s: %s", disco_reload_link_describe (link),
                   error->message);
      return;
    }

  if (request && msg->header.configuration_sequence != node->config->sequence
      && !(msg->header.configuration_sequence == 0xFFFF
           && msg->message_code == DISCO_RELOAD_CONFIG_UPDATE_REQ))
    {
      /* TCP-like serial comparison of the 16-bit sequence numbers. */
      gint16 diff = (gint16)(msg->header.configuration_sequence - node->config->sequence);
      node->stats.dropped++;
      disco_reload_node_send_error (node, hdr, link,
                                    diff < 0 ? DISCO_RELOAD_ERROR_CONFIG_TOO_OLD
                                             : DISCO_RELOAD_ERROR_CONFIG_TOO_NEW,
                                    "configuration sequence mismatch");
      return;
    }

  DiscoReloadSigner signer = { 0 };
  if (!disco_reload_verify_message (disco_reload_link_context_get_trust (node->link_ctx),
                                    node->cert_cache, msg, data, len, &signer, &error))
    {
      /* RFC 6940 §6.3.4: drop silently, never process. */
      node->stats.dropped++;
      g_message ("dropping a %s with a bad signature from %s: %s",
                 disco_reload_message_code_name (msg->message_code),
                 disco_reload_link_describe (link), error->message);
      return;
    }
  if (disco_reload_link_get_peer_node_id (link) == NULL && hdr->via_list->len == 0)
    disco_reload_link_set_peer_node_id (link, &signer.node_id); /* plaintext: learn the peer */

  if (msg->message_code == DISCO_RELOAD_FETCH_ANS)
    disco_reload_node_cache_fetched_certs (node, &msg->body.fetch_ans);
  if (request)
    serve_request (node, msg, &signer, link);
  else if (!disco_reload_node_client_answer (node, g_steal_pointer (&msg), &signer))
    g_debug ("an answer for no pending transaction, dropped");
  disco_reload_signer_clear (&signer);
}

static void route_message (DiscoReloadNode *node, GBytes *bytes, DiscoReloadLink *link);

/* A message for this node: delivered, or, if it is a fragment, kept until
 * the whole message is in (RFC 6940 §6.7), which then takes the normal
 * path. */
static void
deliver_or_reassemble (DiscoReloadNode *node, GBytes *bytes, const DiscoReloadForwardingHeader *hdr,
                       gsize header_len, DiscoReloadLink *link)
{
  if (hdr->fragment == DISCO_RELOAD_FRAGMENT_UNFRAGMENTED)
    {
      deliver_locally (node, bytes, hdr, header_len, link);
      return;
    }
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  g_autoptr (GBytes) complete = NULL;
  g_autoptr (GError) error = NULL;
  guint16 code = 0;
  if (!disco_reload_reassembler_add_from (node->reassembler, link, data, len,
                                          g_get_monotonic_time (), &complete, &code, &error))
    {
      node->stats.dropped++;
      if (g_error_matches (error, DISCO_RELOAD_WIRE_ERROR,
                           DISCO_RELOAD_WIRE_ERROR_MESSAGE_TOO_LARGE)
          && is_request_code (code))
        disco_reload_node_send_error (node, hdr, link, DISCO_RELOAD_ERROR_MESSAGE_TOO_LARGE,
                                      error->message);
      else
        g_message ("dropping a fragment from %s: %s", disco_reload_link_describe (link),
                   error->message);
      return;
    }
  if (complete)
    route_message (node, complete, link);
}

/* Forwards to the directly connected node @next (RFC 6940 §6.1.2): TTL
 * decremented, previous hop appended to the via list of requests. */
static void
forward (DiscoReloadNode *node, const guint8 *data, gsize len, DiscoReloadForwardingHeader *hdr,
         gsize header_len, DiscoReloadLink *from, DiscoReloadLink *next, gboolean request)
{
  g_autoptr (GError) error = NULL;
  if (!check_options (node, hdr, from, request, FALSE))
    return;
  if (hdr->ttl == 0)
    {
      node->stats.dropped++;
      if (request)
        disco_reload_node_send_error (node, hdr, from, DISCO_RELOAD_ERROR_TTL_EXCEEDED,
                                      "TTL reached 0");
      else
        g_message ("not forwarding an answer from %s: TTL reached 0",
                   disco_reload_link_describe (from));
      return;
    }
  hdr->ttl--;
  const DiscoReloadNodeId *prev = disco_reload_link_get_peer_node_id (from);
  if (request && prev)
    {
      DiscoReloadDestination d;
      memset (&d, 0, sizeof d);
      disco_reload_destination_set_node (&d, prev);
      g_array_append_val (hdr->via_list, d);
    }
  g_autoptr (GByteArray) out = g_byte_array_new ();
  if (!disco_reload_forwarding_header_encode (hdr, len - header_len, out, &error))
    {
      node->stats.dropped++;
      if (request)
        disco_reload_node_send_error (node, hdr, from, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
                                      error->message);
      return;
    }
  g_byte_array_append (out, data + header_len, (guint)(len - header_len));
  node->stats.forwarded++;
  if (!send_bytes_on (node, next, out->data, out->len, &error))
    g_message ("cannot forward: %s", error->message);
}

static void
route_one (DiscoReloadNode *node, GBytes *bytes, DiscoReloadLink *link, guint16 *code_out)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  DiscoReloadForwardingHeader hdr;
  gsize header_len = 0;
  g_autoptr (GError) error = NULL;

  disco_reload_forwarding_header_init (&hdr);
  if (!disco_reload_forwarding_header_decode (data, len, &hdr, &header_len, &error))
    {
      node->stats.dropped++;
      g_message ("dropping bytes from %s: %s", disco_reload_link_describe (link), error->message);
      disco_reload_forwarding_header_clear (&hdr);
      return;
    }
  /* Only a message's first fragment carries its code; the others are
   * classified by it (RFC 6940 §6.7: they travel as they are). */
  gboolean fragment = hdr.fragment != DISCO_RELOAD_FRAGMENT_UNFRAGMENTED;
  guint16 code = fragment ? disco_reload_reassembler_transit_code (
                     node->reassembler, link, data, len, header_len, g_get_monotonic_time ())
                          : peek_code (data, len, header_len);
  *code_out = code;
  gboolean request = is_request_code (code);
  if (fragment && code == 0)
    {
      node->stats.dropped++;
      g_message (
          "dropping a fragment from %s: the first fragment of transaction %016" G_GINT64_MODIFIER
          "x never came",
          disco_reload_link_describe (link), hdr.transaction_id);
      goto out;
    }

  if (hdr.overlay != node->config->overlay_hash)
    {
      node->stats.dropped++;
      if (request)
        disco_reload_node_send_error (
            node, &hdr, link, DISCO_RELOAD_ERROR_INCOMPATIBLE_WITH_OVERLAY, "wrong overlay");
      else
        g_message ("dropping an answer for overlay %08x from %s", hdr.overlay,
                   disco_reload_link_describe (link));
      goto out;
    }
  if (hdr.ttl > node->config->initial_ttl)
    {
      node->stats.dropped++;
      if (request)
        disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_TTL_EXCEEDED,
                                      "TTL above initial-ttl");
      else
        g_message ("dropping an answer from %s: TTL %u above initial-ttl %u",
                   disco_reload_link_describe (link), hdr.ttl, node->config->initial_ttl);
      goto out;
    }

  /* RFC 6940 §6.1: consume my own Node-ID entries. */
  while (hdr.destination_list->len > 1
         && is_me (node, &g_array_index (hdr.destination_list, DiscoReloadDestination, 0)))
    g_array_remove_index (hdr.destination_list, 0);
  if (hdr.destination_list->len == 0)
    {
      node->stats.dropped++;
      if (request)
        disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
                                      "empty destination list");
      goto out;
    }
  DiscoReloadDestination *first = &g_array_index (hdr.destination_list, DiscoReloadDestination, 0);
  gboolean local = FALSE;
  if (request && !is_me (node, first) && disco_reload_node_chord_via_loops (node, &hdr))
    {
      node->stats.dropped++;
      disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_LOOP_DETECTED,
                                    "this peer is in the via list already");
      goto out;
    }
  if (is_me (node, first))
    local = TRUE;
  else if (first->type == DISCO_RELOAD_DESTINATION_RESOURCE)
    {
      if (hdr.destination_list->len != 1)
        {
          /* RFC 6940 §6.3.2.2: a Resource-ID must be the last entry; no
           * Error for that, but a trace. */
          node->stats.dropped++;
          g_message ("dropping a %s from %s: a Resource-ID is not the last destination",
                     request ? "request" : "answer", disco_reload_link_describe (link));
          goto out;
        }
      /* Without Chord a peer is responsible for every resource it is
       * asked about; a client for none. */
      if (node->chord)
        {
          DiscoReloadLink *next = disco_reload_node_chord_route (node, first, link);
          if (next)
            {
              forward (node, data, len, &hdr, header_len, link, next, request);
              goto out;
            }
          if (!disco_reload_node_chord_is_local (node, first, link))
            {
              /* Not ours (or not joined yet) and no other way on. */
              node->stats.dropped++;
              if (request)
                disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_NOT_FOUND,
                                              "no route to the responsible peer");
              goto out;
            }
        }
      if (node->client)
        {
          node->stats.dropped++;
          if (request)
            disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_NOT_FOUND,
                                          "a client is responsible for no resource");
          goto out;
        }
      local = TRUE;
    }
  else if (first->type == DISCO_RELOAD_DESTINATION_NODE)
    {
      if (hdr.ttl == 0)
        {
          /* RFC 6940 §6.3.2: not for me and no hops left. */
          node->stats.dropped++;
          if (request)
            disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_TTL_EXCEEDED,
                                          "TTL reached 0");
          else
            g_message ("dropping an answer from %s: TTL reached 0",
                       disco_reload_link_describe (link));
          goto out;
        }
      DiscoReloadLink *next = node->chord && request
                                  ? disco_reload_node_chord_route (node, first, link)
                                  : disco_reload_node_find_link (node, &first->node);
      if (next && next != link)
        {
          forward (node, data, len, &hdr, header_len, link, next, request);
          goto out;
        }
      if (request && hdr.destination_list->len == 1
          && disco_reload_node_chord_is_local (node, first, link))
        {
          /* RFC 6940 §10.5: a request for a Node-ID this peer is
           * responsible for (an Attach to a joining peer's own ID, a
           * finger target) is answered here. */
          deliver_or_reassemble (node, bytes, &hdr, header_len, link);
          goto out;
        }
      node->stats.dropped++;
      if (request)
        disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_NOT_FOUND,
                                      "no route to that Node-ID");
      goto out;
    }
  else
    {
      node->stats.dropped++; /* opaque / compressed ids: we never hand them out */
      if (request)
        disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_INVALID_MESSAGE,
                                      "unknown opaque destination");
      else
        g_message ("dropping an answer from %s: unknown opaque destination",
                   disco_reload_link_describe (link));
      goto out;
    }

  if (local)
    {
      /* Destination entries I consumed are not part of the signature, but
       * the decoder reads the original bytes; that is fine. */
      deliver_or_reassemble (node, bytes, &hdr, header_len, link);
    }
out:
  disco_reload_forwarding_header_clear (&hdr);
}

/* route_one, then its forwarded / dropped counts booked to the message's
 * code (a reassembled message books its own, nested). */
static void
route_message (DiscoReloadNode *node, GBytes *bytes, DiscoReloadLink *link)
{
  guint16 code = 0;
  route_one (node, bytes, link, &code);
  disco_reload_node_attribute_totals (node, code);
}

static void
on_link_message (DiscoReloadLink *link, GBytes *message, gpointer user_data)
{
  DiscoReloadNode *node = user_data;

  disco_reload_link_ref (link);
  /* Fragments are routed like whole messages; only the destination puts
   * them together (deliver_or_reassemble). */
  route_message (node, message, link);
  disco_reload_link_unref (link);
}

static void
on_link_too_large (DiscoReloadLink *link, GBytes *head, gsize announced, gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (head, &len);
  DiscoReloadForwardingHeader hdr;
  gsize header_len = 0;

  node->stats.dropped++;
  disco_reload_forwarding_header_init (&hdr);
  /* The head is truncated, so header_decode's length check fails; parse a
   * copy whose length field claims just the head. */
  g_autofree guint8 *copy = g_memdup2 (data, len);
  if (len >= DISCO_RELOAD_FORWARDING_HEADER_FIXED_LEN)
    {
      copy[16] = len >> 24;
      copy[17] = len >> 16;
      copy[18] = len >> 8;
      copy[19] = len;
    }
  guint16 code = 0;
  if (disco_reload_forwarding_header_decode (copy, len, &hdr, &header_len, NULL))
    code = peek_code (copy, len, header_len);
  disco_reload_node_attribute_totals (node, code);
  if (code != 0 && is_request_code (code))
    {
      g_autofree char *text = g_strdup_printf (
          "message of %" G_GSIZE_FORMAT " bytes exceeds max-message-size %" G_GSIZE_FORMAT,
          announced, disco_reload_link_context_get_max_message_size (node->link_ctx));
      disco_reload_node_send_error (node, &hdr, link, DISCO_RELOAD_ERROR_MESSAGE_TOO_LARGE, text);
    }
  disco_reload_forwarding_header_clear (&hdr);
  /* RFC 6940 §6.6.2: then close the (D)TLS session. */
  disco_reload_link_close_after_flush (link);
  disco_reload_link_ref (link);
  g_ptr_array_add (node->draining, disco_reload_link_ref (link)); /* closed for good in _free */
  forget_link (node, link);
  GError *closed = g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TOO_LARGE,
                                "closed after an oversized message");
  disco_reload_node_client_link_down (node, link, closed);
  disco_reload_node_chord_link_down (node, link);
  g_error_free (closed);
  disco_reload_link_unref (link);
}

/* ---- lifecycle ------------------------------------------------------------- */

/* RFC 6940 §6.6.2: over TLS/TCP the ACKs only tell whether the link still
 * works; a frame unacknowledged this long means it does not. */
#define LINK_DEAD_AFTER_US (30 * G_USEC_PER_SEC)

static void
check_links (DiscoReloadNode *node, gint64 now)
{
  for (guint i = 0; i < node->links->len;)
    {
      DiscoReloadLink *l = node->links->pdata[i];
      gint64 oldest = disco_reload_rtt_oldest_unacked (disco_reload_link_get_rtt (l));
      if (!disco_reload_link_is_established (l) || oldest < 0 || now - oldest < LINK_DEAD_AFTER_US)
        {
          i++;
          continue;
        }
      GError *dead
          = g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_IO,
                         "no ACK for %" G_GINT64_FORMAT " s", (now - oldest) / G_USEC_PER_SEC);
      g_message ("%s: %s, closing", disco_reload_link_describe (l), dead->message);
      disco_reload_link_ref (l);
      disco_reload_link_close (l);
      forget_link (node, l);
      disco_reload_node_client_link_down (node, l, dead);
      disco_reload_node_chord_link_down (node, l);
      disco_reload_link_unref (l);
      g_error_free (dead);
    }
}

static gboolean
housekeeping (gpointer user_data)
{
  DiscoReloadNode *node = user_data;
  gint64 now = g_get_monotonic_time ();
  check_links (node, now);
  for (guint i = node->draining->len; i > 0; i--)
    if (!disco_reload_link_is_open (node->draining->pdata[i - 1]))
      g_ptr_array_remove_index (node->draining, i - 1);
  expire_answers (node, now);
  disco_reload_reassembler_expire (node->reassembler, now);
  if (node->storage)
    disco_reload_storage_expire (node->storage);
  return G_SOURCE_CONTINUE;
}

DiscoReloadNode *
disco_reload_node_new (const DiscoReloadNodeSettings *s, GError **error)
{
  g_return_val_if_fail (s != NULL && s->identity != NULL, NULL);
  g_autoptr (DiscoReloadNode) node = g_new0 (DiscoReloadNode, 1);
  node->identity = disco_reload_identity_ref (s->identity);
  node->config
      = s->config ? disco_reload_config_ref (s->config) : disco_reload_config_new_default ();
  node->client = s->client;
  node->started_us = g_get_monotonic_time ();
  node->links = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_link_unref);
  node->answers = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                         (GDestroyNotify)cached_answer_free);
  node->connecting = g_ptr_array_new ();
  node->draining = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_link_unref);
  disco_reload_node_client_init (node);
  disco_reload_node_handlers_init (node);
  disco_reload_node_chord_init (node, s);

  DiscoReloadLinkSettings ls = {
    .identity = node->identity,
    .config = node->config,
    .extra_roots = s->extra_roots,
    .max_message_size = s->max_message_size,
    .allow_plaintext = s->allow_plaintext,
    .keylog_path = s->keylog_path,
  };
  node->link_ctx = disco_reload_link_context_new (&ls, error);
  if (node->link_ctx == NULL)
    return NULL;
  /* RFC 6940 §6.7: a reassembled message is bounded by max-message-size
   * like any other, and each link may keep only a few in progress. */
  gsize max_message = disco_reload_link_context_get_max_message_size (node->link_ctx);
  node->reassembler = disco_reload_reassembler_new (max_message, 0, REASSEMBLIES_MAX);
  disco_reload_reassembler_set_source_limits (node->reassembler, REASSEMBLIES_PER_LINK,
                                              REASSEMBLY_MESSAGES_PER_LINK * max_message);
  if (!node->client)
    node->storage = disco_reload_storage_new (
        node->config, disco_reload_link_context_get_trust (node->link_ctx), NULL, NULL);
  node->cert_cache = disco_reload_cert_pool_new ();
  if (node->storage)
    disco_reload_cert_pool_set_fallback (node->cert_cache,
                                         disco_reload_storage_get_certificates (node->storage));
  node->housekeeping = g_timeout_add_seconds (5, housekeeping, node);
  return g_steal_pointer (&node);
}

void
disco_reload_node_free (DiscoReloadNode *node)
{
  if (node == NULL)
    return;
  if (node->housekeeping)
    g_source_remove (node->housekeeping);
  disco_reload_node_chord_dispose (node);
  g_clear_pointer (&node->listener, disco_reload_listener_free);
  disco_reload_node_client_dispose (node);
  g_clear_pointer (&node->cert_cache, disco_reload_cert_pool_free);
  g_clear_pointer (&node->storage, disco_reload_storage_free);
  for (guint i = 0; node->links && i < node->links->len; i++)
    disco_reload_link_close (node->links->pdata[i]);
  g_clear_pointer (&node->links, g_ptr_array_unref);
  for (guint i = 0; node->draining && i < node->draining->len; i++)
    disco_reload_link_close (node->draining->pdata[i]);
  g_clear_pointer (&node->draining, g_ptr_array_unref);
  g_clear_pointer (&node->answers, g_hash_table_unref);
  g_clear_pointer (&node->handlers, g_hash_table_unref);
  disco_reload_node_chord_finalize (node);
  g_clear_pointer (&node->reassembler, disco_reload_reassembler_free);
  g_clear_pointer (&node->connecting, g_ptr_array_unref);
  g_clear_pointer (&node->link_ctx, disco_reload_link_context_unref);
  g_clear_pointer (&node->config, disco_reload_config_unref);
  g_clear_pointer (&node->identity, disco_reload_identity_unref);
  g_free (node);
}

gboolean
disco_reload_node_listen (DiscoReloadNode *node, GInetSocketAddress *address,
                          DiscoReloadLinkMode mode, GError **error)
{
  g_return_val_if_fail (node->listener == NULL, FALSE);
  node->listener = disco_reload_listener_new (node->link_ctx, address, mode, on_accepted,
                                              &link_callbacks, node, error);
  return node->listener != NULL;
}

GInetSocketAddress *
disco_reload_node_get_listen_address (DiscoReloadNode *node)
{
  return node->listener ? disco_reload_listener_get_address (node->listener) : NULL;
}

const DiscoReloadNodeId *
disco_reload_node_get_node_id (DiscoReloadNode *node)
{
  return disco_reload_identity_get_node_id (node->identity);
}

DiscoReloadIdentity *
disco_reload_node_get_identity (DiscoReloadNode *node)
{
  return node->identity;
}

DiscoReloadConfig *
disco_reload_node_get_config (DiscoReloadNode *node)
{
  return node->config;
}

DiscoReloadTrust *
disco_reload_node_get_trust (DiscoReloadNode *node)
{
  return disco_reload_link_context_get_trust (node->link_ctx);
}

void
disco_reload_node_get_stats (DiscoReloadNode *node, DiscoReloadNodeStats *stats)
{
  *stats = node->stats;
  stats->links = 0;
  stats->peers = 0;
  g_autoptr (GPtrArray) seen = g_ptr_array_new ();
  for (guint i = 0; i < node->links->len; i++)
    {
      DiscoReloadLink *l = node->links->pdata[i];
      if (!disco_reload_link_is_open (l))
        continue;
      stats->links++;
      const DiscoReloadNodeId *id = disco_reload_link_get_peer_node_id (l);
      if (id == NULL || !disco_reload_link_is_established (l))
        continue;
      gboolean dup = FALSE;
      for (guint j = 0; j < seen->len && !dup; j++)
        dup = disco_reload_node_id_equal (seen->pdata[j], id);
      if (!dup)
        g_ptr_array_add (seen, (gpointer)id);
    }
  stats->peers = seen->len;
  disco_reload_node_handlers_stats (node, stats);
  disco_reload_node_stats_fill (node, stats);
}

/* Links the node opened itself (connect_async) join node->links here. */
void
disco_reload_node_adopt_link (DiscoReloadNode *node, DiscoReloadLink *link)
{
  g_ptr_array_add (node->links, link);
}

const DiscoReloadLinkCallbacks *
disco_reload_node_link_callbacks (void)
{
  return &link_callbacks;
}

DiscoReloadLinkContext *
disco_reload_node_get_link_context (DiscoReloadNode *node)
{
  return node->link_ctx;
}

const char *
disco_reload_message_code_name (guint16 code)
{
  switch (code)
    {
      case DISCO_RELOAD_PROBE_REQ:
        return "Probe request";
      case DISCO_RELOAD_PROBE_ANS:
        return "Probe answer";
      case DISCO_RELOAD_ATTACH_REQ:
        return "Attach request";
      case DISCO_RELOAD_ATTACH_ANS:
        return "Attach answer";
      case DISCO_RELOAD_STORE_REQ:
        return "Store request";
      case DISCO_RELOAD_STORE_ANS:
        return "Store answer";
      case DISCO_RELOAD_FETCH_REQ:
        return "Fetch request";
      case DISCO_RELOAD_FETCH_ANS:
        return "Fetch answer";
      case DISCO_RELOAD_FIND_REQ:
        return "Find request";
      case DISCO_RELOAD_FIND_ANS:
        return "Find answer";
      case DISCO_RELOAD_JOIN_REQ:
        return "Join request";
      case DISCO_RELOAD_JOIN_ANS:
        return "Join answer";
      case DISCO_RELOAD_LEAVE_REQ:
        return "Leave request";
      case DISCO_RELOAD_LEAVE_ANS:
        return "Leave answer";
      case DISCO_RELOAD_UPDATE_REQ:
        return "Update request";
      case DISCO_RELOAD_UPDATE_ANS:
        return "Update answer";
      case DISCO_RELOAD_ROUTE_QUERY_REQ:
        return "RouteQuery request";
      case DISCO_RELOAD_ROUTE_QUERY_ANS:
        return "RouteQuery answer";
      case DISCO_RELOAD_PING_REQ:
        return "Ping request";
      case DISCO_RELOAD_PING_ANS:
        return "Ping answer";
      case DISCO_RELOAD_STAT_REQ:
        return "Stat request";
      case DISCO_RELOAD_STAT_ANS:
        return "Stat answer";
      case DISCO_RELOAD_APP_ATTACH_REQ:
        return "AppAttach request";
      case DISCO_RELOAD_APP_ATTACH_ANS:
        return "AppAttach answer";
      case DISCO_RELOAD_CONFIG_UPDATE_REQ:
        return "ConfigUpdate request";
      case DISCO_RELOAD_CONFIG_UPDATE_ANS:
        return "ConfigUpdate answer";
      case DISCO_RELOAD_ERROR:
        return "Error";
      default:
        return "unknown message";
    }
}

const char *
disco_reload_error_code_name (guint16 code)
{
  switch (code)
    {
      case DISCO_RELOAD_ERROR_FORBIDDEN:
        return "Error_Forbidden";
      case DISCO_RELOAD_ERROR_NOT_FOUND:
        return "Error_Not_Found";
      case DISCO_RELOAD_ERROR_REQUEST_TIMEOUT:
        return "Error_Request_Timeout";
      case DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW:
        return "Error_Generation_Counter_Too_Low";
      case DISCO_RELOAD_ERROR_INCOMPATIBLE_WITH_OVERLAY:
        return "Error_Incompatible_with_Overlay";
      case DISCO_RELOAD_ERROR_UNSUPPORTED_FORWARDING_OPTION:
        return "Error_Unsupported_Forwarding_Option";
      case DISCO_RELOAD_ERROR_DATA_TOO_LARGE:
        return "Error_Data_Too_Large";
      case DISCO_RELOAD_ERROR_DATA_TOO_OLD:
        return "Error_Data_Too_Old";
      case DISCO_RELOAD_ERROR_TTL_EXCEEDED:
        return "Error_TTL_Exceeded";
      case DISCO_RELOAD_ERROR_MESSAGE_TOO_LARGE:
        return "Error_Message_Too_Large";
      case DISCO_RELOAD_ERROR_UNKNOWN_KIND:
        return "Error_Unknown_Kind";
      case DISCO_RELOAD_ERROR_UNKNOWN_EXTENSION:
        return "Error_Unknown_Extension";
      case DISCO_RELOAD_ERROR_RESPONSE_TOO_LARGE:
        return "Error_Response_Too_Large";
      case DISCO_RELOAD_ERROR_CONFIG_TOO_OLD:
        return "Error_Config_Too_Old";
      case DISCO_RELOAD_ERROR_CONFIG_TOO_NEW:
        return "Error_Config_Too_New";
      case DISCO_RELOAD_ERROR_IN_PROGRESS:
        return "Error_In_Progress";
      case DISCO_RELOAD_ERROR_INVALID_MESSAGE:
        return "Error_Invalid_Message";
      case DISCO_RELOAD_ERROR_UNDERLAY_DESTINATION_UNREACHABLE:
        return "Error_Underlay_Destination_Unreachable";
      case DISCO_RELOAD_ERROR_UNDERLAY_TIME_EXCEEDED:
        return "Error_Underlay_Time_Exceeded";
      case DISCO_RELOAD_ERROR_MESSAGE_EXPIRED:
        return "Error_Message_Expired";
      case DISCO_RELOAD_ERROR_UPSTREAM_MISROUTING:
        return "Error_Upstream_Misrouting";
      case DISCO_RELOAD_ERROR_LOOP_DETECTED:
        return "Error_Loop_Detected";
      case DISCO_RELOAD_ERROR_TTL_HOPS_EXCEEDED:
        return "Error_TTL_Hops_Exceeded";
      default:
        return "Error_Unknown";
    }
}
