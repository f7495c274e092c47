/* test-link.c: RELOAD links over loopback: mutual TLS between two
 * identities with the Node-ID check, plaintext refused unless enabled, and a
 * plaintext capture decoded by tshark's reload-framing/reload dissectors. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>
#include <string.h>

#include "node-test-util.h"
#include "reload-link.h"
#include "reload-wire.h"

typedef struct
{
  GMainLoop *loop;
  DiscoReloadLink *accepted;
  gboolean established;
  GPtrArray *messages; /* GBytes* */
  GError *closed_error;
  gboolean closed;
} Side;

static void
side_init (Side *s, GMainLoop *loop)
{
  memset (s, 0, sizeof *s);
  s->loop = loop;
  s->messages = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
}

static void
side_clear (Side *s)
{
  g_clear_pointer (&s->accepted, disco_reload_link_unref);
  g_ptr_array_unref (s->messages);
  g_clear_error (&s->closed_error);
}

static void
on_established (DiscoReloadLink *link, gpointer user_data)
{
  Side *s = user_data;
  s->established = TRUE;
}

static void
on_message (DiscoReloadLink *link, GBytes *message, gpointer user_data)
{
  Side *s = user_data;
  g_ptr_array_add (s->messages, g_bytes_ref (message));
}

static void
on_closed (DiscoReloadLink *link, const GError *error, gpointer user_data)
{
  Side *s = user_data;
  s->closed = TRUE;
  g_clear_error (&s->closed_error);
  s->closed_error = g_error_copy (error);
}

static const DiscoReloadLinkCallbacks callbacks = {
  .established = on_established,
  .message = on_message,
  .closed = on_closed,
};

static void
on_accepted (DiscoReloadListener *listener, DiscoReloadLink *link, gpointer user_data)
{
  Side *s = user_data;
  if (s->accepted) /* only one expected */
    disco_reload_link_unref (s->accepted);
  s->accepted = link;
}

/* The default document, with <disco:plaintext-test-links> as asked. */
static DiscoReloadConfig *
make_config (gboolean plaintext_test_links)
{
  DiscoReloadConfig *config = disco_reload_config_new_default ();
  config->plaintext_test_links = plaintext_test_links;
  return config;
}

/* Plaintext links need both keys: the configuration's and the owner's. */
static DiscoReloadLinkContext *
make_context (DiscoReloadIdentity *id, gboolean allow_plaintext)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadConfig) config = make_config (allow_plaintext);
  DiscoReloadLinkSettings s
      = { .identity = id, .config = config, .allow_plaintext = allow_plaintext };
  DiscoReloadLinkContext *ctx = disco_reload_link_context_new (&s, &error);
  g_assert_no_error (error);
  return ctx;
}

static DiscoReloadIdentity *alice, *bob;

typedef struct
{
  Side *a, *b;
  guint want_a, want_b;
} Wait;

static gboolean
both_established (gpointer p)
{
  Wait *w = p;
  return w->a->established && w->b->established;
}

static gboolean
got_messages (gpointer p)
{
  Wait *w = p;
  return w->a->messages->len >= w->want_a && w->b->messages->len >= w->want_b;
}

static gboolean
a_closed (gpointer p)
{
  Wait *w = p;
  return w->a->closed;
}

static gboolean
acks_seen (gpointer p)
{
  DiscoReloadLink *link = p;
  return disco_reload_link_get_rtt (link)->samples >= 3;
}

static gboolean
two_acks_seen (gpointer p)
{
  DiscoReloadLink *link = p;
  return disco_reload_link_get_rtt (link)->acked >= 2;
}

static void
test_tls_pair (void)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadLinkContext) ca = make_context (alice, FALSE);
  g_autoptr (DiscoReloadLinkContext) cb = make_context (bob, FALSE);
  g_autofree char *keylog = g_build_filename (g_get_tmp_dir (), "disco-link-keylog-XXXXXX", NULL);
  int fd = g_mkstemp (keylog);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  DiscoReloadLinkSettings ks = { .identity = alice, .keylog_path = keylog };
  g_autoptr (DiscoReloadLinkContext) ca_keylog = disco_reload_link_context_new (&ks, &error);
  g_assert_no_error (error);

  Side a, b;
  side_init (&a, loop);
  side_init (&b, loop);
  g_autoptr (GInetSocketAddress) any = disco_node_test_loopback_any ();
  g_autoptr (DiscoReloadListener) listener = disco_reload_listener_new (
      cb, any, DISCO_RELOAD_LINK_TLS, on_accepted, &callbacks, &b, &error);
  g_assert_no_error (error);

  const DiscoReloadNodeId *bob_id = disco_reload_identity_get_node_id (bob);
  g_autoptr (DiscoReloadLink) link = disco_reload_link_connect (
      ca_keylog, G_SOCKET_ADDRESS (disco_reload_listener_get_address (listener)),
      DISCO_RELOAD_LINK_TLS, bob_id, &callbacks, &a, &error);
  g_assert_no_error (error);

  /* Queued before the handshake finishes: must go out afterwards. */
  g_autoptr (GBytes) early = g_bytes_new_static ("early", 5);
  g_assert_true (disco_reload_link_send (link, early, &error));

  Wait w = { &a, &b, 0, 1 };
  disco_node_test_spin_until (both_established, &w);
  g_assert_nonnull (b.accepted);
  g_assert_true (disco_reload_link_is_established (link));
  g_assert_true (disco_reload_node_id_equal (disco_reload_link_get_peer_node_id (link), bob_id));
  g_assert_true (disco_reload_node_id_equal (disco_reload_link_get_peer_node_id (b.accepted),
                                             disco_reload_identity_get_node_id (alice)));
  g_assert_cmpstr (disco_reload_link_get_peer_cert (b.accepted)->user_name, ==,
                   "alice@disco.example.org");

  /* A large message (several TLS records) both ways, then many small ones. */
  gsize big_len = 4900;
  g_autofree guint8 *big = g_malloc (big_len);
  for (gsize i = 0; i < big_len; i++)
    big[i] = (guint8)(i * 7);
  g_autoptr (GBytes) bigb = g_bytes_new (big, big_len);
  g_assert_true (disco_reload_link_send (link, bigb, &error));
  g_assert_true (disco_reload_link_send (b.accepted, bigb, &error));
  for (int i = 0; i < 20; i++)
    {
      g_autofree char *t = g_strdup_printf ("msg %d", i);
      g_autoptr (GBytes) m = g_bytes_new (t, strlen (t));
      g_assert_true (disco_reload_link_send (link, m, &error));
    }
  w.want_a = 1;
  w.want_b = 22;
  disco_node_test_spin_until (got_messages, &w);
  g_assert_true (g_bytes_equal (b.messages->pdata[0], early));
  g_assert_true (g_bytes_equal (b.messages->pdata[1], bigb));
  g_assert_true (g_bytes_equal (a.messages->pdata[0], bigb));
  g_assert_cmpmem (g_bytes_get_data (b.messages->pdata[21], NULL),
                   g_bytes_get_size (b.messages->pdata[21]), "msg 19", 6);

  /* Each DATA frame was ACKed: the sender measured round-trip times. */
  disco_node_test_spin_until (acks_seen, link);
  const DiscoReloadRtt *rtt = disco_reload_link_get_rtt (link);
  g_assert_cmpuint (rtt->acked, >=, 3);
  g_assert_cmpint (rtt->rto_us, >=, DISCO_RELOAD_RTO_MIN_US);

  /* The NSS key log has the TLS secrets. */
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (keylog, &log, NULL, NULL));
  g_assert_true (strstr (log, "CLIENT_") != NULL || strstr (log, "CLIENT_RANDOM") != NULL);
  g_unlink (keylog);

  /* Bob closes: Alice is told. */
  disco_reload_link_close (b.accepted);
  disco_node_test_spin_until (a_closed, &w);
  g_assert_error (a.closed_error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_CLOSED);
  g_assert_false (disco_reload_link_send (link, early, &error));
  g_assert_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_CLOSED);

  side_clear (&a);
  side_clear (&b);
}

static gboolean
b_closed_and_a_closed (gpointer p)
{
  Wait *w = p;
  return w->a->closed && w->b->accepted && w->b->closed;
}

static void
test_wrong_node_id (void)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadLinkContext) ca = make_context (alice, FALSE);
  g_autoptr (DiscoReloadLinkContext) cb = make_context (bob, FALSE);
  Side a, b;
  side_init (&a, loop);
  side_init (&b, loop);
  g_autoptr (GInetSocketAddress) any = disco_node_test_loopback_any ();
  g_autoptr (DiscoReloadListener) listener = disco_reload_listener_new (
      cb, any, DISCO_RELOAD_LINK_TLS, on_accepted, &callbacks, &b, &error);
  g_assert_no_error (error);

  /* Alice expects someone else at Bob's address. */
  DiscoReloadNodeId other = *disco_reload_identity_get_node_id (bob);
  other.id[0] ^= 0xff;
  g_autoptr (DiscoReloadLink) link = disco_reload_link_connect (
      ca, G_SOCKET_ADDRESS (disco_reload_listener_get_address (listener)), DISCO_RELOAD_LINK_TLS,
      &other, &callbacks, &a, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) secret = g_bytes_new_static ("secret", 6);
  g_assert_true (disco_reload_link_send (link, secret, &error));

  Wait w = { &a, &b, 0, 0 };
  disco_node_test_spin_until (b_closed_and_a_closed, &w);
  g_assert_false (a.established);
  g_assert_error (a.closed_error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PEER_CERT);
  g_assert_nonnull (strstr (a.closed_error->message, "expected"));
  /* Nothing queued before the refusal reached Bob. */
  g_assert_cmpuint (b.messages->len, ==, 0);
  side_clear (&a);
  side_clear (&b);
}

static void
test_untrusted_self_signed (void)
{
  /* An overlay that does not permit self-signed certificates refuses them. */
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadConfig) strict = disco_reload_config_new_default ();
  strict->self_signed_permitted = FALSE;
  DiscoReloadLinkSettings sa = { .identity = alice, .config = strict };
  g_autoptr (DiscoReloadLinkContext) ca = disco_reload_link_context_new (&sa, &error);
  g_assert_no_error (error);
  g_autoptr (DiscoReloadLinkContext) cb = make_context (bob, FALSE);
  Side a, b;
  side_init (&a, loop);
  side_init (&b, loop);
  g_autoptr (GInetSocketAddress) any = disco_node_test_loopback_any ();
  g_autoptr (DiscoReloadListener) listener = disco_reload_listener_new (
      cb, any, DISCO_RELOAD_LINK_TLS, on_accepted, &callbacks, &b, &error);
  g_assert_no_error (error);
  g_autoptr (DiscoReloadLink) link = disco_reload_link_connect (
      ca, G_SOCKET_ADDRESS (disco_reload_listener_get_address (listener)), DISCO_RELOAD_LINK_TLS,
      NULL, &callbacks, &a, &error);
  g_assert_no_error (error);
  Wait w = { &a, &b, 0, 0 };
  disco_node_test_spin_until (a_closed, &w);
  g_assert_false (a.established);
  g_assert_error (a.closed_error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PEER_CERT);
  side_clear (&a);
  side_clear (&b);
}

static void
test_plaintext_refused (void)
{
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadLinkContext) tls_b = make_context (bob, FALSE);
  g_autoptr (GInetSocketAddress) any = disco_node_test_loopback_any ();
  Side a, b;
  side_init (&a, loop);
  side_init (&b, loop);

  /* The owner's request alone: the default configuration does not permit
   * plaintext, so there is no context at all. */
  {
    g_autoptr (DiscoReloadConfig) config = make_config (FALSE);
    DiscoReloadLinkSettings s = { .identity = alice, .config = config, .allow_plaintext = TRUE };
    g_assert_null (disco_reload_link_context_new (&s, &error));
    g_assert_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PLAINTEXT);
    g_assert_nonnull (strstr (error->message, "plaintext-test-links"));
    g_clear_error (&error);
    s.config = NULL; /* the embedded default */
    g_assert_null (disco_reload_link_context_new (&s, &error));
    g_assert_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PLAINTEXT);
    g_clear_error (&error);
  }
  /* The configuration's permission alone is not a request either. */
  g_autoptr (DiscoReloadConfig) permissive = make_config (TRUE);
  DiscoReloadLinkSettings ss = { .identity = alice, .config = permissive };
  g_autoptr (DiscoReloadLinkContext) strict = disco_reload_link_context_new (&ss, &error);
  g_assert_no_error (error);

  /* Neither a plaintext listener nor a plaintext connection without the flag. */
  g_assert_null (disco_reload_listener_new (strict, any, DISCO_RELOAD_LINK_PLAINTEXT, on_accepted,
                                            &callbacks, &b, &error));
  g_assert_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PLAINTEXT);
  g_clear_error (&error);
  g_autoptr (DiscoReloadListener) listener = disco_reload_listener_new (
      tls_b, any, DISCO_RELOAD_LINK_TLS, on_accepted, &callbacks, &b, &error);
  g_assert_no_error (error);
  GSocketAddress *addr = G_SOCKET_ADDRESS (disco_reload_listener_get_address (listener));
  g_assert_null (disco_reload_link_connect (strict, addr, DISCO_RELOAD_LINK_PLAINTEXT, NULL,
                                            &callbacks, &a, &error));
  g_assert_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PLAINTEXT);
  g_clear_error (&error);

  /* With the flag the client may speak plaintext, but a TLS peer does not
   * take it: the handshake fails and no message is delivered. */
  g_autoptr (DiscoReloadLinkContext) loose = make_context (alice, TRUE);
  g_autoptr (DiscoReloadLink) link = disco_reload_link_connect (
      loose, addr, DISCO_RELOAD_LINK_PLAINTEXT, NULL, &callbacks, &a, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) m = g_bytes_new_static ("plain", 5);
  g_assert_true (disco_reload_link_send (link, m, &error));
  Wait w = { &a, &b, 0, 0 };
  disco_node_test_spin_until (b_closed_and_a_closed, &w);
  g_assert_false (b.established);
  g_assert_error (b.closed_error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TLS);
  g_assert_cmpuint (b.messages->len, ==, 0);
  side_clear (&a);
  side_clear (&b);
}

static gboolean
b_closed (gpointer p)
{
  Wait *w = p;
  return w->b->closed;
}

static void
test_handshake_timeout (void)
{
  /* A TCP client that never says anything is dropped after the deadline. */
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  DiscoReloadLinkSettings sb = { .identity = bob, .handshake_timeout_ms = 300 };
  g_autoptr (DiscoReloadLinkContext) cb = disco_reload_link_context_new (&sb, &error);
  g_assert_no_error (error);
  Side a, b;
  side_init (&a, loop);
  side_init (&b, loop);
  g_autoptr (GInetSocketAddress) any = disco_node_test_loopback_any ();
  g_autoptr (DiscoReloadListener) listener = disco_reload_listener_new (
      cb, any, DISCO_RELOAD_LINK_TLS, on_accepted, &callbacks, &b, &error);
  g_assert_no_error (error);
  g_autoptr (GSocket) silent
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_true (g_socket_connect (
      silent, G_SOCKET_ADDRESS (disco_reload_listener_get_address (listener)), NULL, &error));
  Wait w = { &a, &b, 0, 0 };
  disco_node_test_spin_until (b_closed, &w);
  g_assert_false (b.established);
  g_assert_error (b.closed_error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TLS);
  g_assert_nonnull (strstr (b.closed_error->message, "handshake"));
  side_clear (&a);
  side_clear (&b);
}

/* ---- tshark capture ------------------------------------------------------ */

/* A TCP relay between a client and an upstream that records each chunk
 * with its direction, so the bytes can be turned into a pcap. */
typedef struct
{
  GSocket *listen;
  GSocketAddress *upstream;
  GString *dump; /* text2pcap -D input */
  GMutex lock;
  guint chunks;
  gboolean stop;
} Relay;

static void
text_to_pcap (const char *text, const char *txt, const char *pcap)
{
  g_autoptr (GError) error = NULL;
  int status = 0;
  g_assert_true (g_file_set_contents (txt, text, -1, NULL));
  const char *t2p[]
      = { "text2pcap", "-q", "-D", "-4", "10.0.0.1,10.0.0.2", "-T", "40000,6084", txt, pcap, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **)t2p, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
                               NULL, &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
}

static void
dump_chunk (Relay *r, char dir, const guint8 *data, gsize len)
{
  g_mutex_lock (&r->lock);
  disco_node_test_append_chunk (r->dump, dir, data, len);
  r->chunks++;
  g_mutex_unlock (&r->lock);
}

static gpointer
relay_thread (gpointer user_data)
{
  Relay *r = user_data;
  g_autoptr (GSocket) down = g_socket_accept (r->listen, NULL, NULL);
  g_assert_nonnull (down);
  g_autoptr (GSocket) up
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_true (g_socket_connect (up, r->upstream, NULL, NULL));
  g_socket_set_timeout (down, 0);
  GSocket *socks[2] = { down, up };
  gboolean open[2] = { TRUE, TRUE };
  while (open[0] && open[1] && !r->stop)
    {
      for (int i = 0; i < 2; i++)
        {
          if (!g_socket_condition_timed_wait (socks[i], G_IO_IN, 20000, NULL, NULL))
            continue;
          guint8 buf[8192];
          gssize n = g_socket_receive (socks[i], (char *)buf, sizeof buf, NULL, NULL);
          if (n <= 0)
            {
              open[i] = FALSE;
              break;
            }
          /* client -> upstream is "O" (outbound), the answer "I". */
          dump_chunk (r, i == 0 ? 'O' : 'I', buf, (gsize)n);
          for (gssize off = 0; off < n;)
            {
              gssize sent
                  = g_socket_send (socks[1 - i], (char *)buf + off, (gsize)(n - off), NULL, NULL);
              if (sent <= 0)
                break;
              off += sent;
            }
        }
    }
  return NULL;
}

static GBytes *
ping_message (guint64 txid)
{
  g_autoptr (DiscoReloadMessage) msg = disco_reload_message_new (DISCO_RELOAD_PING_REQ);
  g_autoptr (DiscoReloadConfig) config = disco_reload_config_new_default ();
  msg->header.overlay = config->overlay_hash;
  msg->header.transaction_id = txid;
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_node (&d, disco_reload_identity_get_node_id (bob));
  g_array_append_val (msg->header.destination_list, d);
  g_autoptr (GError) error = NULL;
  g_assert_true (disco_reload_sign_message (alice, NULL, msg, &error));
  g_assert_no_error (error);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_assert_true (disco_reload_message_encode (msg, out, &error));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Captures two Pings and their ACKs through a recording relay and checks
 * what tshark decodes: over plaintext links directly, over TLS with the
 * NSS key log the client context exported. */
static void
capture_and_decode (gboolean tls)
{
  if (!g_file_test ("/usr/bin/tshark", G_FILE_TEST_IS_EXECUTABLE)
      || !g_file_test ("/usr/bin/text2pcap", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_test_skip ("tshark/text2pcap not installed");
      return;
    }
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("disco-link-XXXXXX", NULL);
  g_autofree char *keylog = g_build_filename (dir, "keys.log", NULL);
  DiscoReloadLinkMode mode = tls ? DISCO_RELOAD_LINK_TLS : DISCO_RELOAD_LINK_PLAINTEXT;
  g_autoptr (DiscoReloadConfig) aconfig = make_config (!tls);
  DiscoReloadLinkSettings as
      = { .identity = alice, .config = aconfig, .allow_plaintext = !tls, .keylog_path = keylog };
  g_autoptr (DiscoReloadLinkContext) ca = disco_reload_link_context_new (&as, &error);
  g_assert_no_error (error);
  g_autoptr (DiscoReloadLinkContext) cb = make_context (bob, !tls);
  g_autoptr (GInetSocketAddress) any = disco_node_test_loopback_any ();
  Side a, b;
  side_init (&a, loop);
  side_init (&b, loop);
  g_autoptr (DiscoReloadListener) listener
      = disco_reload_listener_new (cb, any, mode, on_accepted, &callbacks, &b, &error);
  g_assert_no_error (error);

  Relay r = { 0 };
  g_mutex_init (&r.lock);
  r.dump = g_string_new (NULL);
  r.upstream = G_SOCKET_ADDRESS (disco_reload_listener_get_address (listener));
  r.listen = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_true (g_socket_bind (r.listen, G_SOCKET_ADDRESS (any), TRUE, NULL));
  g_assert_true (g_socket_listen (r.listen, NULL));
  g_autoptr (GSocketAddress) relay_addr = g_socket_get_local_address (r.listen, NULL);
  GThread *thread = g_thread_new ("relay", relay_thread, &r);

  g_autoptr (DiscoReloadLink) link = disco_reload_link_connect (
      ca, relay_addr, mode, disco_reload_identity_get_node_id (bob), &callbacks, &a, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) m1 = ping_message (0x1122334455667788ull);
  g_autoptr (GBytes) m2 = ping_message (0x0102030405060708ull);
  g_assert_true (disco_reload_link_send (link, m1, &error));
  Wait w = { &a, &b, 0, 1 };
  disco_node_test_spin_until (got_messages, &w);
  g_assert_true (disco_reload_link_send (link, m2, &error));
  w.want_b = 2;
  disco_node_test_spin_until (got_messages, &w);
  g_assert_true (g_bytes_equal (b.messages->pdata[0], m1));
  disco_node_test_spin_until (two_acks_seen, link);
  r.stop = TRUE;
  g_thread_join (thread);

  g_autofree char *txt = g_build_filename (dir, "frames.txt", NULL);
  g_autofree char *pcap = g_build_filename (dir, "frames.pcap", NULL);
  g_autofree char *txt2 = g_build_filename (dir, "decrypted.txt", NULL);
  g_autofree char *pcap2 = g_build_filename (dir, "decrypted.pcap", NULL);
  int status = 0;
  text_to_pcap (r.dump->str, txt, pcap);
  if (g_getenv ("KEEP_CAPTURE"))
    g_print ("capture in %s\n", dir);

  if (tls)
    {
      /* tshark 4.0 has no TLS decode-as entry for reload-framing: decrypt
       * with the key log first, then decode the plaintext it recovered. */
      g_autofree char *keylog_pref = g_strconcat ("tls.keylog_file:", keylog, NULL);
      const char *dec[] = { "tshark", "-r",        pcap, "-n",
                            "-o",     keylog_pref, "-d", "tcp.port==6084,tls",
                            "-T",     "fields",    "-e", "tcp.srcport",
                            "-e",     "data.data", NULL };
      g_autofree char *dout = NULL;
      g_assert_true (g_spawn_sync (NULL, (char **)dec, NULL,
                                   G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                                   &dout, NULL, &status, &error));
      g_assert_true (g_spawn_check_wait_status (status, NULL));
      g_autoptr (GString) plain = g_string_new (NULL);
      g_auto (GStrv) dl = g_strsplit (dout, "\n", -1);
      for (char **l = dl; *l; l++)
        {
          g_auto (GStrv) f = g_strsplit (*l, "\t", 2);
          if (g_strv_length (f) < 2 || f[1][0] == '\0')
            continue;
          g_auto (GStrv) records = g_strsplit (f[1], ",", -1);
          for (char **rec = records; *rec; rec++)
            {
              gsize n = strlen (*rec) / 2;
              g_autofree guint8 *bytes = g_malloc (n + 1);
              for (gsize i = 0; i < n; i++)
                bytes[i] = (guint8)(g_ascii_xdigit_value ((*rec)[2 * i]) << 4
                                    | g_ascii_xdigit_value ((*rec)[2 * i + 1]));
              disco_node_test_append_chunk (plain, g_str_equal (f[0], "6084") ? 'O' : 'I', bytes,
                                            n);
            }
        }
      g_assert_cmpuint (plain->len, >, 0); /* the key log decrypted the application data */
      text_to_pcap (plain->str, txt2, pcap2);
    }

  /* Field assertions on what tshark decoded. */
  const char *ts[] = { "tshark",
                       "-r",
                       tls ? pcap2 : pcap,
                       "-n",
                       "-o",
                       "tcp.desegment_tcp_streams:TRUE",
                       "-d",
                       "tcp.port==6084,reload-framing",
                       "-T",
                       "fields",
                       "-E",
                       "separator=|",
                       "-e",
                       "reload_framing.type",
                       "-e",
                       "reload_framing.sequence",
                       "-e",
                       "reload_framing.ack_sequence",
                       "-e",
                       "reload.message.code",
                       "-e",
                       "reload.forwarding.trans_id",
                       "-e",
                       "reload.forwarding.ttl",
                       "-e",
                       "_ws.expert.severity",
                       NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **)ts, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                               &status, &error));
  g_assert_no_error (error);
  g_test_message ("tshark:\n%s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint data_frames = 0, ack_frames = 0;
  for (char **l = lines; *l; l++)
    {
      if (**l == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (*l, "|", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 7);
      if (f[0][0] == '\0')
        continue;                     /* TLS handshake records */
      g_assert_cmpstr (f[6], ==, ""); /* no expert info: every field decoded cleanly */
      if (g_str_has_prefix (f[0], "128"))
        {
          g_assert_cmpstr (f[3], ==, "23"); /* Ping request 0x17 */
          g_assert_cmpstr (f[5], ==, "100");
          g_assert_cmpstr (f[1], ==, data_frames == 0 ? "0" : "1");
          g_assert_cmpstr (f[4], ==,
                           data_frames == 0 ? "0x1122334455667788" : "0x0102030405060708");
          data_frames++;
        }
      else if (g_str_has_prefix (f[0], "129"))
        {
          g_assert_cmpstr (f[2], ==, ack_frames == 0 ? "0" : "1");
          ack_frames++;
        }
    }
  g_assert_cmpuint (data_frames, ==, 2);
  g_assert_cmpuint (ack_frames, ==, 2);

  if (g_getenv ("KEEP_CAPTURE"))
    return;
  g_unlink (txt);
  g_unlink (pcap);
  g_unlink (txt2);
  g_unlink (pcap2);
  g_unlink (keylog);
  g_rmdir (dir);
  g_object_unref (r.listen);
  g_string_free (r.dump, TRUE);
  g_mutex_clear (&r.lock);
  side_clear (&a);
  side_clear (&b);
}

static void
test_plaintext_tshark (void)
{
  capture_and_decode (FALSE);
}

static void
test_keylog_tshark (void)
{
  capture_and_decode (TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  disco_node_test_set_timeout (20);
  alice = disco_node_test_make_identity ("alice@disco.example.org");
  bob = disco_node_test_make_identity ("bob@disco.example.org");
  g_test_add_func ("/link/tls/pair", test_tls_pair);
  g_test_add_func ("/link/tls/wrong-node-id", test_wrong_node_id);
  g_test_add_func ("/link/tls/untrusted-self-signed", test_untrusted_self_signed);
  g_test_add_func ("/link/tls/handshake-timeout", test_handshake_timeout);
  g_test_add_func ("/link/plaintext/refused", test_plaintext_refused);
  g_test_add_func ("/link/plaintext/tshark", test_plaintext_tshark);
  g_test_add_func ("/link/tls/keylog-tshark", test_keylog_tshark);
  int rc = g_test_run ();
  disco_reload_identity_unref (alice);
  disco_reload_identity_unref (bob);
  return rc;
}
