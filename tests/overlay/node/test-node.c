/* test-node.c: DiscoReloadNode over loopback TLS: client requests with
 * transaction matching, forwarding through an admitting peer, Error answers
 * to bad input (malformed bytes, TTL, unknown critical extension, config
 * sequence, oversized message) and drops that leave the peer working. */
#include <gio/gio.h>
#include <string.h>

#include "node-test-util.h"
#include "reload-node.h"
#include "reload-usages.h"

static DiscoReloadIdentity *id_a, *id_b, *id_c, *id_x;

static DiscoReloadNode *
make_peer (DiscoReloadIdentity *id)
{
  g_autoptr (GError) error = NULL;
  DiscoReloadNodeSettings s = { .identity = id };
  DiscoReloadNode *node = disco_reload_node_new (&s, &error);
  g_assert_no_error (error);
  g_autoptr (GInetSocketAddress) any = disco_node_test_loopback_any ();
  g_assert_true (disco_reload_node_listen (node, any, DISCO_RELOAD_LINK_TLS, &error));
  g_assert_no_error (error);
  return node;
}

/* ---- async helpers ---------------------------------------------------------- */

static DiscoReloadDestination
node_dest (DiscoReloadNode *node)
{
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_node (&d, disco_reload_node_get_node_id (node));
  return d;
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_ping_probe_attach (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadNode) peer = make_peer (id_a);
  DiscoReloadNodeSettings cs = { .identity = id_c, .client = TRUE };
  g_autoptr (DiscoReloadNode) client = disco_reload_node_new (&cs, &error);
  g_assert_no_error (error);
  disco_node_test_connect (client, peer, TRUE);

  /* Ping to the peer's Node-ID. */
  DiscoReloadDestination d = node_dest (peer);
  g_autoptr (DiscoReloadMessage) ping
      = disco_reload_node_new_request (client, DISCO_RELOAD_PING_REQ, &d);
  guint64 txid = ping->header.transaction_id;
  g_autoptr (DiscoReloadMessage) pong
      = disco_node_test_request (client, g_steal_pointer (&ping), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pong->message_code, ==, DISCO_RELOAD_PING_ANS);
  g_assert_cmpuint (pong->header.transaction_id, ==, txid);
  guint64 now_ms = (guint64)(g_get_real_time () / 1000);
  g_assert_cmpuint (pong->body.ping_ans.time, <=, now_ms);
  g_assert_cmpuint (pong->body.ping_ans.time + 60000, >, now_ms);

  /* Ping to the wildcard: the admitting peer answers. */
  DiscoNodeTestResult pr = { 0 };
  disco_reload_node_ping_async (client, NULL, NULL, disco_node_test_on_answer, &pr);
  disco_node_test_spin_until (disco_node_test_result_done, &pr);
  g_assert_no_error (pr.error);
  g_autoptr (DiscoReloadMessage) pong2 = pr.answer;
  g_assert_cmpuint (pong2->message_code, ==, DISCO_RELOAD_PING_ANS);

  /* A request larger than max-message-size (5000) leaves as RELOAD
   * fragments, but the peer does not take it whole either. */
  DiscoReloadMessage *bigping = disco_reload_node_new_request (client, DISCO_RELOAD_PING_REQ, &d);
  bigping->body.ping_req.padding = g_bytes_new_take (g_malloc0 (9000), 9000);
  g_assert_null (disco_node_test_request (client, bigping, &error));
  g_assert_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);

  /* Probe: uptime and number of resources, in the requested order. */
  DiscoReloadMessage *probe = disco_reload_node_new_request (client, DISCO_RELOAD_PROBE_REQ, &d);
  guint8 want[] = { DISCO_RELOAD_PROBE_UPTIME, 99, DISCO_RELOAD_PROBE_NUM_RESOURCES };
  g_array_append_vals (probe->body.probe_req.requested_info, want, 3);
  g_autoptr (DiscoReloadMessage) pans = disco_node_test_request (client, probe, &error);
  g_assert_no_error (error);
  GArray *info = pans->body.probe_ans.probe_info;
  g_assert_cmpuint (info->len, ==, 2);
  g_assert_cmpuint (g_array_index (info, DiscoReloadProbeInformation, 0).type, ==,
                    DISCO_RELOAD_PROBE_UPTIME);
  g_assert_cmpuint (g_array_index (info, DiscoReloadProbeInformation, 1).type, ==,
                    DISCO_RELOAD_PROBE_NUM_RESOURCES);

  /* Attach (no-ICE): a passive TLS-TCP-FH candidate at the listening port. */
  DiscoReloadMessage *att = disco_reload_node_new_request (client, DISCO_RELOAD_ATTACH_REQ, &d);
  att->body.attach.ufrag = g_strdup ("u");
  att->body.attach.password = g_strdup ("p");
  att->body.attach.role = g_strdup ("passive");
  g_autoptr (DiscoReloadMessage) aans = disco_node_test_request (client, att, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (aans->message_code, ==, DISCO_RELOAD_ATTACH_ANS);
  g_assert_cmpstr (aans->body.attach.role, ==, "active");
  g_assert_cmpuint (aans->body.attach.candidates->len, ==, 1);
  DiscoReloadIceCandidate *cand = aans->body.attach.candidates->pdata[0];
  g_assert_cmpuint (cand->overlay_link, ==, DISCO_RELOAD_OVERLAY_LINK_TLS_TCP_FH_NO_ICE);
  g_assert_cmpuint (cand->addr_port.port, ==,
                    g_inet_socket_address_get_port (disco_reload_node_get_listen_address (peer)));

  /* AppAttach for SIP: not served here -> Error_Not_Found. */
  DiscoReloadMessage *app = disco_reload_node_new_request (client, DISCO_RELOAD_APP_ATTACH_REQ, &d);
  app->body.attach.ufrag = g_strdup ("u");
  app->body.attach.password = g_strdup ("p");
  app->body.attach.role = g_strdup ("passive");
  app->body.attach.application = 5060;
  g_assert_null (disco_node_test_request (client, app, &error));
  g_assert_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* A Join (no topology plugin here) is refused with an Error, not ignored. */
  DiscoReloadMessage *join = disco_reload_node_new_request (client, DISCO_RELOAD_JOIN_REQ, &d);
  join->body.join_leave.node_id = *disco_reload_node_get_node_id (client);
  g_assert_null (disco_node_test_request (client, join, &error));
  g_assert_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_INVALID_MESSAGE);
  g_clear_error (&error);

  /* A Node-ID nobody is connected to: Error_Not_Found from the peer. */
  DiscoReloadDestination nowhere = d;
  nowhere.node.id[3] ^= 0x5a;
  g_assert_null (disco_node_test_request (
      client, disco_reload_node_new_request (client, DISCO_RELOAD_PING_REQ, &nowhere), &error));
  g_assert_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_NOT_FOUND);
  g_clear_error (&error);

  DiscoReloadNodeStats st;
  disco_reload_node_get_stats (peer, &st);
  g_assert_cmpuint (st.links, ==, 1);
  g_assert_cmpuint (st.peers, ==, 1);
  g_assert_cmpuint (st.requests_in, >=, 6);
}

static void
test_forward_via_admitting_peer (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadNode) a = make_peer (id_a);
  g_autoptr (DiscoReloadNode) b = make_peer (id_b);
  DiscoReloadNodeSettings cs = { .identity = id_c, .client = TRUE };
  g_autoptr (DiscoReloadNode) client = disco_reload_node_new (&cs, &error);
  g_assert_no_error (error);
  disco_node_test_connect (a, b, TRUE);
  disco_node_test_connect (client, a, TRUE);

  /* Client -> A -> B and back along the via list. */
  DiscoReloadDestination db = node_dest (b);
  g_autoptr (DiscoReloadMessage) pong = disco_node_test_request (
      client, disco_reload_node_new_request (client, DISCO_RELOAD_PING_REQ, &db), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pong->message_code, ==, DISCO_RELOAD_PING_ANS);
  /* B signed it: its certificate is the one in the security block. */
  DiscoReloadGenericCertificate *gc = pong->security.certificates->pdata[0];
  g_assert_true (g_bytes_equal (gc->certificate, id_b->cert->der));

  DiscoReloadNodeStats sa, sb;
  disco_reload_node_get_stats (a, &sa);
  disco_reload_node_get_stats (b, &sb);
  g_assert_cmpuint (sa.forwarded, ==, 2); /* the request and its answer */
  g_assert_cmpuint (sb.requests_in, ==, 1);
}

/* ---- raw bytes on a TLS link ------------------------------------------------- */

typedef struct
{
  GPtrArray *messages; /* DiscoReloadMessage* decoded answers */
  guint undecodable;
  gboolean established;
  gboolean closed;
  GPtrArray *accepted; /* DiscoReloadLink* when Raw is the server side */
} Raw;

static void
raw_established (DiscoReloadLink *link, gpointer user_data)
{
  ((Raw *)user_data)->established = TRUE;
}

static void
raw_message (DiscoReloadLink *link, GBytes *bytes, gpointer user_data)
{
  Raw *r = user_data;
  DiscoReloadMessage *msg = NULL;
  if (disco_reload_message_decode_full (bytes, NULL, &msg, NULL))
    g_ptr_array_add (r->messages, msg);
  else
    r->undecodable++;
}

static void
raw_closed (DiscoReloadLink *link, const GError *error, gpointer user_data)
{
  ((Raw *)user_data)->closed = TRUE;
}

static const DiscoReloadLinkCallbacks raw_callbacks = {
  .established = raw_established,
  .message = raw_message,
  .closed = raw_closed,
};

static gboolean
raw_established_p (gpointer p)
{
  return ((Raw *)p)->established;
}

typedef struct
{
  Raw *raw;
  guint want;
} RawWait;

static gboolean
raw_has (gpointer p)
{
  RawWait *w = p;
  return w->raw->messages->len >= w->want;
}

static gboolean
raw_closed_p (gpointer p)
{
  return ((Raw *)p)->closed;
}

/* A signed Ping from X to @to, with hooks to break it. */
static DiscoReloadMessage *
raw_ping (DiscoReloadNode *to, guint64 txid)
{
  g_autoptr (DiscoReloadConfig) config = disco_reload_config_new_default ();
  DiscoReloadMessage *msg = disco_reload_message_new (DISCO_RELOAD_PING_REQ);
  msg->header.overlay = config->overlay_hash;
  msg->header.configuration_sequence = config->sequence;
  msg->header.transaction_id = txid;
  DiscoReloadDestination d = node_dest (to);
  g_array_append_val (msg->header.destination_list, d);
  return msg;
}

static GBytes *
sign_encode (DiscoReloadMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (disco_reload_sign_message (id_x, NULL, msg, &error));
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_assert_true (disco_reload_message_encode (msg, out, &error));
  g_assert_no_error (error);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
raw_send (DiscoReloadLink *link, GBytes *b)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (disco_reload_link_send (link, b, &error));
  g_assert_no_error (error);
}

/* Signs @msg as Mallory and sends it over @link. */
static void
raw_send_signed (DiscoReloadLink *link, DiscoReloadMessage *msg)
{
  g_autoptr (GBytes) b = sign_encode (msg);
  raw_send (link, b);
}

static void
raw_send_data (DiscoReloadLink *link, const guint8 *data, gsize len)
{
  g_autoptr (GBytes) b = g_bytes_new (data, len);
  raw_send (link, b);
}

/* Sends a good Ping and waits for its answer: the peer is still fine and
 * everything sent before has been processed (one TCP stream, in order). */
static void
check_alive (DiscoReloadLink *link, Raw *r, DiscoReloadNode *peer, guint64 txid)
{
  g_autoptr (DiscoReloadMessage) ping = raw_ping (peer, txid);
  guint before = r->messages->len;
  raw_send_signed (link, ping);
  RawWait w = { r, before + 1 };
  disco_node_test_spin_until (raw_has, &w);
  DiscoReloadMessage *last = r->messages->pdata[r->messages->len - 1];
  g_assert_cmpuint (last->message_code, ==, DISCO_RELOAD_PING_ANS);
  g_assert_cmpuint (last->header.transaction_id, ==, txid);
}

static void
expect_error (Raw *r, guint index, guint64 txid, guint16 code)
{
  g_assert_cmpuint (r->messages->len, >, index);
  DiscoReloadMessage *m = r->messages->pdata[index];
  g_assert_cmpuint (m->message_code, ==, DISCO_RELOAD_ERROR);
  g_assert_cmpuint (m->header.transaction_id, ==, txid);
  g_assert_cmpuint (m->body.error.error_code, ==, code);
}

static DiscoReloadLink *
raw_connect_as (DiscoReloadNode *peer, Raw *r, gsize max_message_size, DiscoReloadIdentity *id)
{
  g_autoptr (GError) error = NULL;
  DiscoReloadLinkSettings s = { .identity = id, .max_message_size = max_message_size };
  g_autoptr (DiscoReloadLinkContext) ctx = disco_reload_link_context_new (&s, &error);
  g_assert_no_error (error);
  memset (r, 0, sizeof *r);
  r->messages = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_message_free);
  DiscoReloadLink *link = disco_reload_link_connect (
      ctx, G_SOCKET_ADDRESS (disco_reload_node_get_listen_address (peer)), DISCO_RELOAD_LINK_TLS,
      disco_reload_node_get_node_id (peer), &raw_callbacks, r, &error);
  g_assert_no_error (error);
  disco_node_test_spin_until (raw_established_p, r);
  return link;
}

static DiscoReloadLink *
raw_connect (DiscoReloadNode *peer, Raw *r, gsize max_message_size)
{
  return raw_connect_as (peer, r, max_message_size, id_x);
}

static void
test_bad_input (void)
{
  g_autoptr (DiscoReloadNode) peer = make_peer (id_a);
  Raw r;
  g_autoptr (DiscoReloadLink) link = raw_connect (peer, &r, 0);
  guint n = 0;

  /* 1. Truncated body (header intact): Error_Invalid_Message. */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x101);
    g_autoptr (GBytes) b = sign_encode (m);
    gsize len;
    const guint8 *d = g_bytes_get_data (b, &len);
    g_autofree guint8 *cut = g_memdup2 (d, len);
    gsize newlen = len - 40; /* security block cut short; fix the length field */
    cut[16] = newlen >> 24;
    cut[17] = newlen >> 16;
    cut[18] = newlen >> 8;
    cut[19] = newlen;
    raw_send_data (link, cut, newlen);
    check_alive (link, &r, peer, 0x1001);
    expect_error (&r, n, 0x101, DISCO_RELOAD_ERROR_INVALID_MESSAGE);
    n += 2;
  }
  /* 2. Bad token and 3. wrong version: dropped silently; 4. garbage too. */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x102);
    g_autoptr (GBytes) b = sign_encode (m);
    gsize len;
    g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (b, &len), g_bytes_get_size (b));
    bad[0] = 0x52; /* "RELO" without the top bit */
    raw_send_data (link, bad, len);
    bad[0] = 0xd2;
    bad[10] = 0x01; /* pre-RFC version */
    raw_send_data (link, bad, len);
    const guint8 junk[] = { 1, 2, 3 };
    raw_send_data (link, junk, sizeof junk);
    raw_send_data (link, junk, 0);
    check_alive (link, &r, peer, 0x1002);
    g_assert_cmpuint (r.messages->len, ==, n + 1); /* only the alive Pong */
    n += 1;
  }
  /* 5. TTL 0 towards a node that is not the receiver: Error_TTL_Exceeded;
   *    6. TTL above initial-ttl: Error_TTL_Exceeded. */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x103);
    DiscoReloadNodeId other;
    memset (&other, 0x42, sizeof other);
    g_array_index (m->header.destination_list, DiscoReloadDestination, 0).node = other;
    m->header.ttl = 0;
    raw_send_signed (link, m);
    g_autoptr (DiscoReloadMessage) m2 = raw_ping (peer, 0x104);
    m2->header.ttl = 101;
    raw_send_signed (link, m2);
    check_alive (link, &r, peer, 0x1003);
    expect_error (&r, n, 0x103, DISCO_RELOAD_ERROR_TTL_EXCEEDED);
    expect_error (&r, n + 1, 0x104, DISCO_RELOAD_ERROR_TTL_EXCEEDED);
    n += 3;
  }
  /* 7. Unknown critical extension: Error_Unknown_Extension; a non-critical
   *    one is ignored. */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x105);
    DiscoReloadMessageExtension ext
        = { .type = 0x7777, .critical = TRUE, .contents = g_bytes_new_static ("x", 1) };
    g_array_append_val (m->extensions, ext);
    raw_send_signed (link, m);
    g_autoptr (DiscoReloadMessage) m2 = raw_ping (peer, 0x106);
    DiscoReloadMessageExtension ext2
        = { .type = 0x7777, .critical = FALSE, .contents = g_bytes_new_static ("x", 1) };
    g_array_append_val (m2->extensions, ext2);
    raw_send_signed (link, m2);
    check_alive (link, &r, peer, 0x1004);
    expect_error (&r, n, 0x105, DISCO_RELOAD_ERROR_UNKNOWN_EXTENSION);
    DiscoReloadMessage *ok = r.messages->pdata[n + 1];
    g_assert_cmpuint (ok->message_code, ==, DISCO_RELOAD_PING_ANS);
    n += 3;
  }
  /* 8. Configuration sequence newer / older than ours. */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x107);
    m->header.configuration_sequence += 5;
    raw_send_signed (link, m);
    g_autoptr (DiscoReloadMessage) m2 = raw_ping (peer, 0x108);
    m2->header.configuration_sequence -= 5;
    raw_send_signed (link, m2);
    check_alive (link, &r, peer, 0x1005);
    expect_error (&r, n, 0x107, DISCO_RELOAD_ERROR_CONFIG_TOO_NEW);
    expect_error (&r, n + 1, 0x108, DISCO_RELOAD_ERROR_CONFIG_TOO_OLD);
    n += 3;
  }
  /* 9. A bad signature: dropped silently; 10. another overlay: refused. */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x109);
    g_autoptr (GBytes) b = sign_encode (m);
    gsize len;
    g_autofree guint8 *bad = g_memdup2 (g_bytes_get_data (b, &len), g_bytes_get_size (b));
    bad[len - 5] ^= 0x01; /* inside the signature value */
    raw_send_data (link, bad, len);
    g_autoptr (DiscoReloadMessage) m2 = raw_ping (peer, 0x10a);
    m2->header.overlay ^= 1;
    raw_send_signed (link, m2);
    check_alive (link, &r, peer, 0x1006);
    expect_error (&r, n, 0x10a, DISCO_RELOAD_ERROR_INCOMPATIBLE_WITH_OVERLAY);
    n += 2;
  }
  /* 11. Fragment abuse: bit 31 clear (dropped), overlapping fragments with
   *     different bytes (dropped), a lone middle fragment (kept, expires). */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x10b);
    m->body.ping_req.padding = g_bytes_new_take (g_malloc0 (1200), 1200);
    g_autoptr (GBytes) b = sign_encode (m);
    gsize len;
    const guint8 *d = g_bytes_get_data (b, &len);
    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) frags = disco_reload_message_fragment (d, len, 600, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (frags->len, >=, 2);
    /* bit 31 cleared on the first fragment */
    gsize flen;
    g_autofree guint8 *f0
        = g_memdup2 (g_bytes_get_data (frags->pdata[0], &flen), g_bytes_get_size (frags->pdata[0]));
    f0[12] &= 0x7f;
    raw_send_data (link, f0, flen);
    /* the first fragment, then the same offset with other bytes */
    raw_send (link, frags->pdata[0]);
    g_autofree guint8 *f0b = g_memdup2 (g_bytes_get_data (frags->pdata[0], &flen), flen);
    f0b[flen - 1] ^= 0xff;
    raw_send_data (link, f0b, flen);
    /* only the last fragment of another transaction */
    g_autofree guint8 *lone
        = g_memdup2 (g_bytes_get_data (frags->pdata[frags->len - 1], &flen), flen);
    lone[27] ^= 0x01; /* other transaction id */
    raw_send_data (link, lone, flen);
    check_alive (link, &r, peer, 0x1007);
    g_assert_cmpuint (r.messages->len, ==, n + 1);
    n += 1;
    /* A proper fragmented request is reassembled and answered. */
    g_autoptr (DiscoReloadMessage) m2 = raw_ping (peer, 0x10c);
    m2->body.ping_req.padding = g_bytes_new_take (g_malloc0 (1200), 1200);
    g_autoptr (GBytes) b2 = sign_encode (m2);
    d = g_bytes_get_data (b2, &len);
    g_autoptr (GPtrArray) good = disco_reload_message_fragment (d, len, 600, &error);
    for (guint i = 0; i < good->len; i++)
      raw_send (link, good->pdata[i]);
    RawWait w = { &r, n + 1 };
    disco_node_test_spin_until (raw_has, &w);
    DiscoReloadMessage *ans = r.messages->pdata[n];
    g_assert_cmpuint (ans->message_code, ==, DISCO_RELOAD_PING_ANS);
    g_assert_cmpuint (ans->header.transaction_id, ==, 0x10c);
    n += 1;
  }
  /* 12. A retransmission (same transaction id) gets the very same answer. */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x10d);
    g_autoptr (GBytes) b = sign_encode (m);
    raw_send (link, b);
    raw_send (link, b);
    RawWait w = { &r, n + 2 };
    disco_node_test_spin_until (raw_has, &w);
    DiscoReloadMessage *a1 = r.messages->pdata[n], *a2 = r.messages->pdata[n + 1];
    g_assert_cmpuint (a1->body.ping_ans.response_id, ==, a2->body.ping_ans.response_id);
    n += 2;
  }
  g_assert_cmpuint (r.undecodable, ==, 0);
  DiscoReloadNodeStats st;
  disco_reload_node_get_stats (peer, &st);
  g_assert_cmpuint (st.dropped, >=, 10);
  /* The per-type counters book every drop and answer, each to its type:
   * bytes without a readable header as "unknown", the bad Pings as
   * ping_req. */
  g_autoptr (GArray) types = disco_reload_node_get_type_stats (peer);
  guint64 sum[DISCO_RELOAD_NODE_N_DIRECTIONS] = { 0 }, ping_dropped = 0, unknown_dropped = 0;
  guint64 ping_answered = 0;
  for (guint i = 0; i < types->len; i++)
    {
      const DiscoReloadNodeTypeStats *t = &g_array_index (types, DiscoReloadNodeTypeStats, i);
      g_assert_cmpstr (t->type, ==, disco_reload_message_code_token (t->code));
      for (int d = 0; d < DISCO_RELOAD_NODE_N_DIRECTIONS; d++)
        sum[d] += t->count[d];
      if (t->code == DISCO_RELOAD_PING_REQ)
        {
          ping_dropped = t->count[DISCO_RELOAD_NODE_DROPPED];
          ping_answered = t->count[DISCO_RELOAD_NODE_ANSWERED];
        }
      if (t->code == 0)
        unknown_dropped = t->count[DISCO_RELOAD_NODE_DROPPED];
    }
  g_assert_cmpuint (sum[DISCO_RELOAD_NODE_DROPPED], ==, st.dropped);
  g_assert_cmpuint (sum[DISCO_RELOAD_NODE_FORWARDED], ==, st.forwarded);
  g_assert_cmpuint (sum[DISCO_RELOAD_NODE_ANSWERED], ==, st.answers_out);
  g_assert_cmpuint (ping_dropped, >=, 5);
  g_assert_cmpuint (ping_answered, >=, 5);
  g_assert_cmpuint (unknown_dropped, >=, 1);
  g_assert_cmpstr (disco_reload_message_code_token (DISCO_RELOAD_ERROR), ==, "error");
  g_assert_cmpstr (disco_reload_message_code_token (0x0b), ==, "unknown");
  g_ptr_array_unref (r.messages);
}

static void
add_option (DiscoReloadMessage *m, guint8 type, guint8 flags)
{
  DiscoReloadForwardingOption o = { .type = type, .flags = flags, .value = g_bytes_new ("v", 1) };
  g_array_append_val (m->header.options, o);
}

/* RFC 6940 §6.3.2.3: an unknown FORWARD_CRITICAL option stops a request at
 * the first peer that would forward it, an unknown DESTINATION_CRITICAL one
 * at the peer that would answer it; other unknown options are ignored. */
static void
test_forwarding_options (void)
{
  g_autoptr (DiscoReloadNode) a = make_peer (id_a);
  g_autoptr (DiscoReloadNode) b = make_peer (id_b);
  disco_node_test_connect (a, b, TRUE);
  Raw r;
  g_autoptr (DiscoReloadLink) link = raw_connect (a, &r, 0);
  guint n = 0;

  /* At the destination (A itself). */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (a, 0x3001);
    add_option (m, 0x77, DISCO_RELOAD_OPTION_DESTINATION_CRITICAL);
    raw_send_signed (link, m);
    g_autoptr (DiscoReloadMessage) m2 = raw_ping (a, 0x3002);
    add_option (m2, 0x77, DISCO_RELOAD_OPTION_FORWARD_CRITICAL | DISCO_RELOAD_OPTION_RESPONSE_COPY);
    raw_send_signed (link, m2);
    check_alive (link, &r, a, 0x3003);
    expect_error (&r, n, 0x3001, DISCO_RELOAD_ERROR_UNSUPPORTED_FORWARDING_OPTION);
    DiscoReloadMessage *ok = r.messages->pdata[n + 1];
    g_assert_cmpuint (ok->message_code, ==, DISCO_RELOAD_PING_ANS);
    g_assert_cmpuint (ok->header.transaction_id, ==, 0x3002);
    n += 3;
  }
  /* Through A to B. */
  {
    g_autoptr (DiscoReloadMessage) m = raw_ping (b, 0x3011);
    add_option (m, 0x78, DISCO_RELOAD_OPTION_FORWARD_CRITICAL);
    raw_send_signed (link, m);
    g_autoptr (DiscoReloadMessage) m2 = raw_ping (b, 0x3012);
    add_option (m2, 0x78, DISCO_RELOAD_OPTION_DESTINATION_CRITICAL);
    raw_send_signed (link, m2);
    g_autoptr (DiscoReloadMessage) m3 = raw_ping (b, 0x3013);
    add_option (m3, 0x78, DISCO_RELOAD_OPTION_RESPONSE_COPY);
    raw_send_signed (link, m3);
    RawWait w = { &r, n + 3 };
    disco_node_test_spin_until (raw_has, &w);
    /* The forward-critical refusal comes from A at once; the other two make
     * the round trip to B, in order. */
    expect_error (&r, n, 0x3011, DISCO_RELOAD_ERROR_UNSUPPORTED_FORWARDING_OPTION);
    DiscoReloadGenericCertificate *from_a
        = ((DiscoReloadMessage *)r.messages->pdata[n])->security.certificates->pdata[0];
    g_assert_true (g_bytes_equal (from_a->certificate, id_a->cert->der));
    expect_error (&r, n + 1, 0x3012, DISCO_RELOAD_ERROR_UNSUPPORTED_FORWARDING_OPTION);
    DiscoReloadGenericCertificate *from_b
        = ((DiscoReloadMessage *)r.messages->pdata[n + 1])->security.certificates->pdata[0];
    g_assert_true (g_bytes_equal (from_b->certificate, id_b->cert->der));
    DiscoReloadMessage *ok = r.messages->pdata[n + 2];
    g_assert_cmpuint (ok->message_code, ==, DISCO_RELOAD_PING_ANS);
    g_assert_cmpuint (ok->header.transaction_id, ==, 0x3013);
  }
  DiscoReloadNodeStats sb;
  disco_reload_node_get_stats (b, &sb);
  g_assert_cmpuint (sb.requests_in, ==, 1); /* only the Ping with the harmless option */
  g_ptr_array_unref (r.messages);
}

/* Like sign_encode, but the security block carries no certificate: the
 * signer identity must be resolved from the certificate-store kinds. */
/* Fetches every index of the array @kind at @rid; transfer full. */
static DiscoReloadMessage *
fetch_all (DiscoReloadNode *client, const DiscoReloadResourceId *rid, DiscoReloadKindId kind,
           GError **error)
{
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_resource (&d, rid);
  DiscoReloadMessage *fetch = disco_reload_node_new_request (client, DISCO_RELOAD_FETCH_REQ, &d);
  fetch->body.fetch_req.resource = *rid;
  DiscoReloadStoredDataSpecifier *spec
      = disco_reload_stored_data_specifier_new (kind, DISCO_RELOAD_DATA_MODEL_ARRAY);
  DiscoReloadArrayRange all = { 0, DISCO_RELOAD_ARRAY_LAST };
  g_array_append_val (spec->indices, all);
  g_ptr_array_add (fetch->body.fetch_req.specifiers, spec);
  return disco_node_test_request (client, fetch, error);
}

static GBytes *
sign_encode_bare (DiscoReloadMessage *msg)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (disco_reload_sign_message (id_x, NULL, msg, &error));
  g_ptr_array_set_size (msg->security.certificates, 0);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_assert_true (disco_reload_message_encode (msg, out, &error));
  g_assert_no_error (error);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* RFC 6940 §6.3.4 / §8: the certificate that verifies a message or a
 * fetched value may come from CERTIFICATE_BY_NODE / _BY_USER instead of
 * the security block: at a storing peer from what it stores, at a client
 * from what it fetched. */
static void
test_certificate_store (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadNode) peer = make_peer (id_a);
  Raw r;
  g_autoptr (DiscoReloadLink) link = raw_connect (peer, &r, 0);

  /* Mallory's bare Ping: nobody knows her certificate yet, dropped. */
  g_autoptr (DiscoReloadMessage) p1 = raw_ping (peer, 0x4001);
  g_autoptr (GBytes) b1 = sign_encode_bare (p1);
  raw_send (link, b1);
  check_alive (link, &r, peer, 0x4002);
  g_assert_cmpuint (r.messages->len, ==, 1);

  /* She stores her certificate at H(her Node-ID). */
  DiscoReloadResourceId rid;
  disco_reload_certificate_resource_by_node (disco_reload_identity_get_node_id (id_x), &rid);
  g_autoptr (DiscoReloadConfig) config = disco_reload_config_new_default ();
  g_autoptr (DiscoReloadMessage) st = disco_reload_message_new (DISCO_RELOAD_STORE_REQ);
  st->header.overlay = config->overlay_hash;
  st->header.configuration_sequence = config->sequence;
  st->header.transaction_id = 0x4003;
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_resource (&d, &rid);
  g_array_append_val (st->header.destination_list, d);
  st->body.store_req.resource = rid;
  DiscoReloadStoreKindData *kd
      = disco_reload_store_kind_data_new (DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, 0);
  g_ptr_array_add (kd->values, disco_reload_certificate_value_new (
                                   id_x, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, &rid,
                                   (guint64)(g_get_real_time () / 1000), 600, &error));
  g_assert_no_error (error);
  g_ptr_array_add (st->body.store_req.kind_data, kd);
  raw_send_signed (link, st);
  RawWait w = { &r, 2 };
  disco_node_test_spin_until (raw_has, &w);
  g_assert_cmpuint (((DiscoReloadMessage *)r.messages->pdata[1])->message_code, ==,
                    DISCO_RELOAD_STORE_ANS);

  /* Now the same kind of bare Ping is verified and answered. */
  g_autoptr (DiscoReloadMessage) p2 = raw_ping (peer, 0x4004);
  g_autoptr (GBytes) b2 = sign_encode_bare (p2);
  raw_send (link, b2);
  w.want = 3;
  disco_node_test_spin_until (raw_has, &w);
  DiscoReloadMessage *pong = r.messages->pdata[2];
  g_assert_cmpuint (pong->message_code, ==, DISCO_RELOAD_PING_ANS);
  g_assert_cmpuint (pong->header.transaction_id, ==, 0x4004);

  /* A client verifies a value whose answer carries no certificate only
   * after it fetched the signer's certificate. */
  DiscoReloadNodeSettings cs = { .identity = id_c, .client = TRUE };
  g_autoptr (DiscoReloadNode) client = disco_reload_node_new (&cs, &error);
  g_assert_no_error (error);
  disco_node_test_connect (client, peer, TRUE);
  DiscoReloadResourceId vrid;
  disco_reload_certificate_resource_by_user ("mallory@disco.example.org", &vrid);
  g_autoptr (DiscoReloadMessage) bare_ans = disco_reload_message_new (DISCO_RELOAD_FETCH_ANS);
  g_autoptr (DiscoReloadStoredData) sd
      = disco_reload_certificate_value_new (id_x, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, &vrid,
                                            (guint64)(g_get_real_time () / 1000), 600, &error);
  g_assert_no_error (error);
  g_autoptr (DiscoReloadStoredData) sd_b
      = disco_reload_certificate_value_new (id_b, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, &vrid,
                                            (guint64)(g_get_real_time () / 1000), 600, &error);
  g_assert_no_error (error);
  DiscoReloadSigner signer = { 0 };
  g_assert_false (disco_reload_node_verify_stored_data (
      client, bare_ans, &vrid, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, sd, &signer, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  g_autoptr (DiscoReloadMessage) fans
      = fetch_all (client, &rid, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fans->message_code, ==, DISCO_RELOAD_FETCH_ANS);

  g_assert_true (disco_reload_node_verify_stored_data (
      client, bare_ans, &vrid, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, sd, &signer, &error));
  g_assert_no_error (error);
  g_assert_true (
      disco_reload_node_id_equal (&signer.node_id, disco_reload_identity_get_node_id (id_x)));
  disco_reload_signer_clear (&signer);
  /* Bob's certificate was fetched nowhere. */
  g_assert_false (disco_reload_node_verify_stored_data (
      client, bare_ans, &vrid, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, sd_b, NULL, &error));
  g_assert_nonnull (error);
  g_ptr_array_unref (r.messages);
}

/* RFC 6940 §6.3.2: an answer longer than the request's max_response_length
 * becomes Error_Response_Too_Large; 0 means no limit. */
static void
test_max_response_length (void)
{
  g_autoptr (DiscoReloadNode) peer = make_peer (id_a);
  Raw r;
  g_autoptr (DiscoReloadLink) link = raw_connect (peer, &r, 0);

  g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x5001);
  m->header.max_response_length = 200; /* a signed Pong carries a certificate */
  g_autoptr (GBytes) b = sign_encode (m);
  raw_send (link, b);
  g_autoptr (DiscoReloadMessage) m2 = raw_ping (peer, 0x5002);
  m2->header.max_response_length = 64 * 1024;
  raw_send_signed (link, m2);
  RawWait w = { &r, 2 };
  disco_node_test_spin_until (raw_has, &w);
  expect_error (&r, 0, 0x5001, DISCO_RELOAD_ERROR_RESPONSE_TOO_LARGE);
  DiscoReloadMessage *ok = r.messages->pdata[1];
  g_assert_cmpuint (ok->message_code, ==, DISCO_RELOAD_PING_ANS);
  g_assert_cmpuint (ok->header.transaction_id, ==, 0x5002);
  g_assert_cmpuint (ok->header.length, <=, 64 * 1024);

  /* The refusal is what a retransmission gets too. */
  raw_send (link, b);
  w.want = 3;
  disco_node_test_spin_until (raw_has, &w);
  expect_error (&r, 2, 0x5001, DISCO_RELOAD_ERROR_RESPONSE_TOO_LARGE);
  g_ptr_array_unref (r.messages);
}

/* Messages of the disco-node log domain, recorded by log_writer. */
static GPtrArray *node_log;

static GLogWriterOutput
log_writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *domain = NULL, *message = NULL;
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
    else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  if (node_log && message && g_strcmp0 (domain, "disco-node") == 0)
    g_ptr_array_add (node_log, g_strdup (message));
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static void
logged (const char *pattern)
{
  for (guint i = 0; i < node_log->len; i++)
    if (g_pattern_match_simple (pattern, node_log->pdata[i]))
      return;
  g_error ("no disco-node log line matches %s", pattern);
}

/* Drops without an Error answer still leave a trace in the log: a
 * Resource-ID that is not the last destination, answers with a bad TTL or
 * an opaque destination. */
static void
test_silent_drops_logged (void)
{
  g_autoptr (DiscoReloadNode) peer = make_peer (id_a);
  Raw r;
  g_autoptr (DiscoReloadLink) link = raw_connect (peer, &r, 0);
  DiscoReloadNodeStats before, after;
  disco_reload_node_get_stats (peer, &before);

  g_autoptr (DiscoReloadMessage) m1 = raw_ping (peer, 0x6001);
  DiscoReloadDestination res;
  memset (&res, 0, sizeof res);
  DiscoReloadResourceId rid;
  disco_reload_certificate_resource_by_user ("x@disco.example.org", &rid);
  disco_reload_destination_set_resource (&res, &rid);
  g_array_prepend_val (m1->header.destination_list, res);
  g_autoptr (GBytes) b1 = sign_encode (m1);

  g_autoptr (DiscoReloadMessage) m2 = raw_ping (peer, 0x6002);
  m2->message_code = DISCO_RELOAD_PING_ANS;
  m2->header.ttl = 101;
  g_autoptr (GBytes) b2 = sign_encode (m2);

  g_autoptr (DiscoReloadMessage) m3 = raw_ping (peer, 0x6003);
  m3->message_code = DISCO_RELOAD_PING_ANS;
  DiscoReloadDestination *d3
      = &g_array_index (m3->header.destination_list, DiscoReloadDestination, 0);
  memset (d3, 0, sizeof *d3);
  d3->type = DISCO_RELOAD_DESTINATION_OPAQUE;
  d3->opaque.len = 3;
  memcpy (d3->opaque.data, "abc", 3);
  g_autoptr (GBytes) b3 = sign_encode (m3);

  g_autoptr (DiscoReloadMessage) m4 = raw_ping (peer, 0x6004);
  m4->message_code = DISCO_RELOAD_PING_ANS;
  m4->header.ttl = 0;
  g_array_index (m4->header.destination_list, DiscoReloadDestination, 0).node.id[0] ^= 0x77;
  g_autoptr (GBytes) b4 = sign_encode (m4);

  g_ptr_array_set_size (node_log, 0);
  raw_send (link, b1);
  raw_send (link, b2);
  raw_send (link, b3);
  raw_send (link, b4);
  check_alive (link, &r, peer, 0x6005);
  logged ("*resource destination not last*");
  logged ("*TTL 101 above initial-ttl 100*");
  logged ("*answer*unknown opaque destination*");
  logged ("*answer*TTL reached 0*");
  g_assert_cmpuint (r.messages->len, ==, 1); /* only the Pong */
  disco_reload_node_get_stats (peer, &after);
  g_assert_cmpuint (after.dropped, ==, before.dropped + 4);
  g_ptr_array_unref (r.messages);
}

/* Fragments of one transaction, cut at @frag_size. */
static GPtrArray *
fragments_of (DiscoReloadMessage *m, gsize frag_size)
{
  g_autoptr (GBytes) b = sign_encode (m);
  g_autoptr (GError) error = NULL;
  GPtrArray *frags = disco_reload_message_fragment (g_bytes_get_data (b, NULL),
                                                    g_bytes_get_size (b), frag_size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (frags->len, >=, 2);
  return frags;
}

static DiscoReloadMessage *
padded_ping (DiscoReloadNode *to, guint64 txid, gsize padding)
{
  DiscoReloadMessage *m = raw_ping (to, txid);
  m->body.ping_req.padding = g_bytes_new_take (g_malloc0 (padding), padding);
  return m;
}

/* RFC 6940 §6.7: the reassembled message is bounded by max-message-size
 * (Error_Message_Too_Large, once per transaction), and what a link may
 * keep in reassembly is bounded per link, so one link cannot crowd out
 * the others. */
static void
test_reassembly_limits (void)
{
  g_autoptr (DiscoReloadNode) peer = make_peer (id_a);
  Raw r, r2;
  g_autoptr (DiscoReloadLink) link = raw_connect (peer, &r, 0);
  /* Another Node-ID, so that answers find this link. */
  g_autoptr (DiscoReloadLink) link2 = raw_connect_as (peer, &r2, 0, id_b);

  /* 9000 bytes in 1200-byte fragments: each fits, the whole does not. */
  {
    g_autoptr (DiscoReloadMessage) m = padded_ping (peer, 0x7001, 9000);
    g_autoptr (GPtrArray) frags = fragments_of (m, 1200);
    for (guint i = 0; i < frags->len; i++)
      raw_send (link, frags->pdata[i]);
    check_alive (link, &r, peer, 0x7002);
    g_assert_cmpuint (r.messages->len, ==, 2);
    expect_error (&r, 0, 0x7001, DISCO_RELOAD_ERROR_MESSAGE_TOO_LARGE);
  }
  /* Eight transactions started on one link fill its share ... */
  GPtrArray *started[8];
  for (guint t = 0; t < 8; t++)
    {
      g_autoptr (DiscoReloadMessage) m = padded_ping (peer, 0x7100 + t, 1500);
      started[t] = fragments_of (m, 1200);
      raw_send (link, started[t]->pdata[0]);
    }
  /* ... so a ninth is not taken from it, */
  {
    g_autoptr (DiscoReloadMessage) m = padded_ping (peer, 0x7200, 1500);
    g_autoptr (GPtrArray) frags = fragments_of (m, 1200);
    for (guint i = 0; i < frags->len; i++)
      raw_send (link, frags->pdata[i]);
    check_alive (link, &r, peer, 0x7201);
    g_assert_cmpuint (r.messages->len, ==, 3);
  }
  /* while another link's fragmented request is, */
  {
    g_autoptr (DiscoReloadMessage) m = padded_ping (peer, 0x7300, 1500);
    g_autoptr (GPtrArray) frags = fragments_of (m, 1200);
    for (guint i = 0; i < frags->len; i++)
      raw_send (link2, frags->pdata[i]);
    RawWait w = { &r2, 1 };
    disco_node_test_spin_until (raw_has, &w);
    DiscoReloadMessage *pong = r2.messages->pdata[0];
    g_assert_cmpuint (pong->message_code, ==, DISCO_RELOAD_PING_ANS);
    g_assert_cmpuint (pong->header.transaction_id, ==, 0x7300);
  }
  /* and the first link's started ones complete as before. */
  for (guint t = 0; t < 8; t++)
    {
      for (guint i = 1; i < started[t]->len; i++)
        raw_send (link, started[t]->pdata[i]);
      g_ptr_array_unref (started[t]);
    }
  RawWait w = { &r, 11 };
  disco_node_test_spin_until (raw_has, &w);
  for (guint t = 0; t < 8; t++)
    {
      DiscoReloadMessage *pong = r.messages->pdata[3 + t];
      g_assert_cmpuint (pong->message_code, ==, DISCO_RELOAD_PING_ANS);
      g_assert_cmpuint (pong->header.transaction_id, ==, 0x7100 + t);
    }
  g_ptr_array_unref (r.messages);
  g_ptr_array_unref (r2.messages);
}

/* Only the destination reassembles: a client whose link frames are small
 * sends a fragmented Ping to B through A, and A passes each fragment on
 * as it came (more forwarded messages than the request and its answer). */
static void
test_fragments_forwarded (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadNode) a = make_peer (id_a);
  g_autoptr (DiscoReloadNode) b = make_peer (id_b);
  DiscoReloadNodeSettings cs = { .identity = id_c, .client = TRUE, .max_message_size = 2500 };
  g_autoptr (DiscoReloadNode) client = disco_reload_node_new (&cs, &error);
  g_assert_no_error (error);
  disco_node_test_connect (a, b, TRUE);
  disco_node_test_connect (client, a, TRUE);

  DiscoReloadDestination db = node_dest (b);
  DiscoReloadMessage *ping = disco_reload_node_new_request (client, DISCO_RELOAD_PING_REQ, &db);
  ping->body.ping_req.padding = g_bytes_new_take (g_malloc0 (3000), 3000);
  g_autoptr (DiscoReloadMessage) pong = disco_node_test_request (client, ping, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pong->message_code, ==, DISCO_RELOAD_PING_ANS);

  DiscoReloadNodeStats sa, sb;
  disco_reload_node_get_stats (a, &sa);
  disco_reload_node_get_stats (b, &sb);
  g_assert_cmpuint (sa.requests_in, ==, 0);
  g_assert_cmpuint (sa.forwarded, >=, 3); /* two or more fragments, then the answer */
  g_assert_cmpuint (sb.requests_in, ==, 1);
}

static void
test_too_large (void)
{
  g_autoptr (DiscoReloadNode) peer = make_peer (id_a);
  Raw r;
  g_autoptr (DiscoReloadLink) link = raw_connect (peer, &r, 100000);
  check_alive (link, &r, peer, 0x2001);

  g_autoptr (DiscoReloadMessage) m = raw_ping (peer, 0x2002);
  m->body.ping_req.padding = g_bytes_new_take (g_malloc0 (6000), 6000);
  g_autoptr (GBytes) b = sign_encode (m);
  g_assert_cmpuint (g_bytes_get_size (b), >, 5000);
  raw_send (link, b);
  disco_node_test_spin_until (raw_closed_p, &r);
  expect_error (&r, 1, 0x2002, DISCO_RELOAD_ERROR_MESSAGE_TOO_LARGE);

  /* The peer itself carries on. */
  Raw r2;
  /* Another Node-ID, so that answers find this link. */
  g_autoptr (DiscoReloadLink) link2 = raw_connect_as (peer, &r2, 0, id_b);
  check_alive (link2, &r2, peer, 0x2003);
  g_ptr_array_unref (r.messages);
  g_ptr_array_unref (r2.messages);
}

static void
keep_accepted (DiscoReloadListener *listener, DiscoReloadLink *link, gpointer user_data)
{
  Raw *r = user_data;
  g_ptr_array_add (r->accepted, link);
}

static void
test_timeout_and_retransmit (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadConfig) config = disco_reload_config_new_default ();
  config->overlay_reliability_timer = 200; /* the RFC minimum keeps the test short */
  DiscoReloadNodeSettings cs = { .identity = id_c, .client = TRUE, .config = config };
  g_autoptr (DiscoReloadNode) client = disco_reload_node_new (&cs, &error);
  g_assert_no_error (error);

  /* The "peer" is a bare link server that never answers. */
  DiscoReloadLinkSettings ls = { .identity = id_x };
  g_autoptr (DiscoReloadLinkContext) ctx = disco_reload_link_context_new (&ls, &error);
  g_assert_no_error (error);
  Raw r = { 0 };
  r.messages = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_message_free);
  r.accepted = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_link_unref);
  g_autoptr (GInetSocketAddress) any = disco_node_test_loopback_any ();
  g_autoptr (DiscoReloadListener) listener = disco_reload_listener_new (
      ctx, any, DISCO_RELOAD_LINK_TLS, keep_accepted, &raw_callbacks, &r, &error);
  g_assert_no_error (error);
  DiscoNodeTestResult c = { 0 };
  disco_reload_node_connect_async (client,
                                   G_SOCKET_ADDRESS (disco_reload_listener_get_address (listener)),
                                   DISCO_RELOAD_LINK_TLS, disco_reload_identity_get_node_id (id_x),
                                   NULL, disco_node_test_on_connected, &c);
  disco_node_test_spin_until (disco_node_test_result_done, &c);
  g_assert_no_error (c.error);

  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_node (&d, disco_reload_identity_get_node_id (id_x));
  DiscoReloadMessage *ping = disco_reload_node_new_request (client, DISCO_RELOAD_PING_REQ, &d);
  guint64 txid = ping->header.transaction_id;
  g_assert_null (disco_node_test_request (client, ping, &error));
  g_assert_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_REQUEST_TIMEOUT);
  /* Five transmissions of the same transaction reached the silent peer. */
  RawWait w = { &r, 5 };
  disco_node_test_spin_until (raw_has, &w);
  g_assert_cmpuint (r.messages->len, ==, 5);
  for (guint i = 0; i < r.messages->len; i++)
    g_assert_cmpuint (((DiscoReloadMessage *)r.messages->pdata[i])->header.transaction_id, ==,
                      txid);
  g_ptr_array_unref (r.messages);
  g_ptr_array_unref (r.accepted);
}

static DiscoReloadMessage *
store_cert (DiscoReloadNode *client, DiscoReloadIdentity *id, DiscoReloadKindId kind,
            const DiscoReloadResourceId *rid, GError **error)
{
  g_autoptr (GError) local = NULL;
  DiscoReloadStoredData *sd = disco_reload_certificate_value_new (
      id, kind, rid, (guint64)(g_get_real_time () / 1000), 600, &local);
  g_assert_no_error (local);
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_resource (&d, rid);
  DiscoReloadMessage *req = disco_reload_node_new_request (client, DISCO_RELOAD_STORE_REQ, &d);
  req->body.store_req.resource = *rid;
  DiscoReloadStoreKindData *kd = disco_reload_store_kind_data_new (kind, 0);
  g_ptr_array_add (kd->values, sd);
  g_ptr_array_add (req->body.store_req.kind_data, kd);
  return disco_node_test_request (client, req, error);
}

static void
test_store_fetch_stat_find (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadNode) peer = make_peer (id_a);
  DiscoReloadNodeSettings cs = { .identity = id_c, .client = TRUE };
  g_autoptr (DiscoReloadNode) client = disco_reload_node_new (&cs, &error);
  g_assert_no_error (error);
  disco_node_test_connect (client, peer, TRUE);

  /* Carol stores her certificate at H("carol@...") (USER-MATCH). */
  DiscoReloadResourceId rid;
  disco_reload_certificate_resource_by_user ("carol@disco.example.org", &rid);
  g_autoptr (DiscoReloadMessage) sans
      = store_cert (client, id_c, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, &rid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sans->message_code, ==, DISCO_RELOAD_STORE_ANS);
  g_assert_cmpuint (sans->body.store_ans.kind_responses->len, ==, 1);
  DiscoReloadStoreKindResponse *kr = sans->body.store_ans.kind_responses->pdata[0];
  g_assert_cmpuint (kr->kind, ==, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER);
  g_assert_cmpuint (kr->generation_counter, >=, 1);

  /* ... but not at Bob's name: Error_Forbidden. */
  DiscoReloadResourceId bob_rid;
  disco_reload_certificate_resource_by_user ("bob@disco.example.org", &bob_rid);
  g_assert_null (
      store_cert (client, id_c, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, &bob_rid, &error));
  g_assert_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_FORBIDDEN);
  g_clear_error (&error);

  /* Fetch it back (all indices) and check the data signature. */
  g_autoptr (DiscoReloadMessage) fans
      = fetch_all (client, &rid, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fans->message_code, ==, DISCO_RELOAD_FETCH_ANS);
  g_assert_cmpuint (fans->body.fetch_ans.kind_responses->len, ==, 1);
  DiscoReloadFetchKindResponse *fr = fans->body.fetch_ans.kind_responses->pdata[0];
  g_assert_cmpuint (fr->values->len, ==, 1);
  DiscoReloadStoredData *got = fr->values->pdata[0];
  g_assert_true (got->value.exists);
  g_assert_true (g_bytes_equal (got->value.value, id_c->cert->der));
  DiscoReloadSigner signer = { 0 };
  g_assert_true (disco_reload_node_verify_stored_data (
      client, fans, &rid, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, got, &signer, &error));
  g_assert_no_error (error);
  g_assert_true (
      disco_reload_node_id_equal (&signer.node_id, disco_reload_identity_get_node_id (id_c)));
  disco_reload_signer_clear (&signer);

  /* Stat: one value, its length. */
  g_autoptr (GPtrArray) specs
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_data_specifier_free);
  DiscoReloadStoredDataSpecifier *spec = disco_reload_stored_data_specifier_new (
      DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, DISCO_RELOAD_DATA_MODEL_ARRAY);
  DiscoReloadArrayRange all = { 0, DISCO_RELOAD_ARRAY_LAST };
  g_array_append_val (spec->indices, all);
  g_ptr_array_add (specs, spec);
  DiscoNodeTestResult sr = { 0 };
  disco_reload_node_fetch_async (client, DISCO_RELOAD_STAT_REQ, NULL, &rid, specs, NULL,
                                 disco_node_test_on_answer, &sr);
  g_assert_cmpuint (specs->len, ==, 0);
  disco_node_test_spin_until (disco_node_test_result_done, &sr);
  g_assert_no_error (sr.error);
  g_autoptr (DiscoReloadMessage) stans = sr.answer;
  g_assert_cmpuint (stans->message_code, ==, DISCO_RELOAD_STAT_ANS);
  DiscoReloadStatKindResponse *st = stans->body.stat_ans.kind_responses->pdata[0];
  g_assert_cmpuint (st->values->len, ==, 1);
  DiscoReloadStoredMetaData *md = st->values->pdata[0];
  g_assert_cmpuint (md->value_length, ==, g_bytes_get_size (id_c->cert->der));
  g_assert_cmpuint (st->generation, ==, kr->generation_counter);

  /* Find from Resource-ID 0: the stored one is the closest at or after it. */
  DiscoReloadResourceId zero = { .len = 16 };
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_resource (&d, &rid);
  DiscoReloadMessage *find = disco_reload_node_new_request (client, DISCO_RELOAD_FIND_REQ, &d);
  find->body.find_req.resource = zero;
  DiscoReloadKindId k = DISCO_RELOAD_KIND_CERTIFICATE_BY_USER;
  g_array_append_val (find->body.find_req.kinds, k);
  g_autoptr (DiscoReloadMessage) fians = disco_node_test_request (client, find, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (fians->message_code, ==, DISCO_RELOAD_FIND_ANS);
  DiscoReloadFindKindData *fk
      = &g_array_index (fians->body.find_ans.results, DiscoReloadFindKindData, 0);
  g_assert_cmpmem (fk->closest.id, fk->closest.len, rid.id, rid.len);

  DiscoReloadNodeStats ps;
  disco_reload_node_get_stats (peer, &ps);
  g_assert_cmpuint (ps.values, ==, 1);
  g_assert_cmpuint (ps.resources, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  disco_node_test_set_timeout (30);
  node_log = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (log_writer, NULL, NULL);
  id_a = disco_node_test_make_identity ("alice@disco.example.org");
  id_b = disco_node_test_make_identity ("bob@disco.example.org");
  id_c = disco_node_test_make_identity ("carol@disco.example.org");
  id_x = disco_node_test_make_identity ("mallory@disco.example.org");
  g_test_add_func ("/node/ping-probe-attach", test_ping_probe_attach);
  g_test_add_func ("/node/forward-via-admitting-peer", test_forward_via_admitting_peer);
  g_test_add_func ("/node/store-fetch-stat-find", test_store_fetch_stat_find);
  g_test_add_func ("/node/bad-input", test_bad_input);
  g_test_add_func ("/node/forwarding-options", test_forwarding_options);
  g_test_add_func ("/node/certificate-store", test_certificate_store);
  g_test_add_func ("/node/max-response-length", test_max_response_length);
  g_test_add_func ("/node/silent-drops-logged", test_silent_drops_logged);
  g_test_add_func ("/node/reassembly-limits", test_reassembly_limits);
  g_test_add_func ("/node/fragments-forwarded", test_fragments_forwarded);
  g_test_add_func ("/node/too-large", test_too_large);
  g_test_add_func ("/node/timeout-and-retransmit", test_timeout_and_retransmit);
  int rc = g_test_run ();
  disco_reload_identity_unref (id_a);
  disco_reload_identity_unref (id_b);
  disco_reload_identity_unref (id_c);
  disco_reload_identity_unref (id_x);
  g_clear_pointer (&node_log, g_ptr_array_unref);
  return rc;
}
