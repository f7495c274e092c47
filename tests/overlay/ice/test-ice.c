/* ICE and DTLS-UDP-SR links: two sessions in one process on loopback, then
 * two processes in private network namespaces joined by a veth pair. */
#include <string.h>

#include "disco-ice.h"
#include "disco-test.h"
#include "reload-cert.h"

typedef struct
{
  DiscoIceSession *ice;
  DiscoDtlsLink *dtls;
  DiscoReloadIdentity *id;
  GPtrArray *received; /* char* */
  gboolean connected, failed;
  GError *error;
} Side;

static void
on_recv_raw (DiscoIceSession *s, const guint8 *data, gsize len, gpointer user_data)
{
  Side *side = user_data;
  g_ptr_array_add (side->received, g_strndup ((const char *)data, len));
}

static Side *
side_new (gboolean controlling, const char *user)
{
  Side *side = g_new0 (Side, 1);
  g_autoptr (GError) error = NULL;
  const char *addrs[] = { "127.0.0.1", NULL };
  DiscoIceConfig cfg = { .controlling = controlling,
                         .local_addresses = addrs,
                         .overlay_link = DISCO_RELOAD_OVERLAY_LINK_DTLS_UDP_SR };

  side->received = g_ptr_array_new_with_free_func (g_free);
  side->ice = disco_ice_session_new (NULL, &cfg, &error);
  g_assert_no_error (error);
  side->id = disco_reload_identity_new_self_signed (user, "disco.example.org",
                                                    DISCO_RELOAD_DIGEST_SHA256, 1, 2048, 1, &error);
  g_assert_no_error (error);
  disco_ice_session_set_callbacks (side->ice, NULL, on_recv_raw, side);
  g_assert_true (disco_ice_session_gather (side->ice, &error));
  g_assert_no_error (error);
  return side;
}

static void
side_free (Side *side)
{
  disco_dtls_link_free (side->dtls);
  disco_ice_session_free (side->ice);
  disco_reload_identity_unref (side->id);
  g_ptr_array_unref (side->received);
  g_clear_error (&side->error);
  g_free (side);
}

static gboolean
iterate_until (gboolean (*done) (gpointer), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  while (!done (data) && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  return done (data);
}

static gboolean
both_gathered (gpointer data)
{
  Side **s = data;
  return disco_ice_session_get_state (s[0]->ice) >= DISCO_ICE_STATE_GATHERED
         && disco_ice_session_get_state (s[1]->ice) >= DISCO_ICE_STATE_GATHERED;
}

static gboolean
both_ice_connected (gpointer data)
{
  Side **s = data;
  return disco_ice_session_get_state (s[0]->ice) == DISCO_ICE_STATE_CONNECTED
         && disco_ice_session_get_state (s[1]->ice) == DISCO_ICE_STATE_CONNECTED;
}

static void
exchange (Side *a, Side *b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ca = disco_ice_session_get_local_candidates (a->ice);
  g_autoptr (GPtrArray) cb = disco_ice_session_get_local_candidates (b->ice);

  g_assert_cmpuint (ca->len, >=, 1);
  g_assert_cmpuint (cb->len, >=, 1);
  /* Only the address we asked for: nothing else is gathered or announced. */
  for (guint i = 0; i < ca->len; i++)
    {
      DiscoReloadIceCandidate *c = g_ptr_array_index (ca, i);
      g_assert_cmpuint (c->addr_port.type, ==, 1);
      g_assert_cmpuint (c->addr_port.addr[0], ==, 127);
      g_assert_cmpuint (c->type, ==, DISCO_RELOAD_CAND_HOST);
      g_assert_cmpuint (c->overlay_link, ==, DISCO_RELOAD_OVERLAY_LINK_DTLS_UDP_SR);
    }
  g_assert_true (disco_ice_session_set_remote (a->ice, disco_ice_session_get_ufrag (b->ice),
                                               disco_ice_session_get_password (b->ice), cb,
                                               &error));
  g_assert_no_error (error);
  g_assert_true (disco_ice_session_set_remote (b->ice, disco_ice_session_get_ufrag (a->ice),
                                               disco_ice_session_get_password (a->ice), ca,
                                               &error));
  g_assert_no_error (error);
}

static void
connect_pair (Side **s)
{
  g_assert_true (iterate_until (both_gathered, s, 10000));
  exchange (s[0], s[1]);
  g_assert_true (iterate_until (both_ice_connected, s, 10000));
}

static void
test_ice_loopback (void)
{
  Side *s[2]
      = { side_new (TRUE, "alice@disco.example.org"), side_new (FALSE, "bob@disco.example.org") };
  g_autoptr (GError) error = NULL;

  connect_pair (s);
  g_assert_true (disco_ice_session_send (s[0]->ice, (const guint8 *)"hello", 5, &error));
  g_assert_true (disco_ice_session_send (s[1]->ice, (const guint8 *)"world", 5, &error));
  while (s[0]->received->len == 0 || s[1]->received->len == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (g_ptr_array_index (s[1]->received, 0), ==, "hello");
  g_assert_cmpstr (g_ptr_array_index (s[0]->received, 0), ==, "world");
  g_autofree char *pair = disco_ice_session_describe_pair (s[0]->ice);
  g_assert_nonnull (strstr (pair, "127.0.0.1:"));
  side_free (s[0]);
  side_free (s[1]);
}

static void
on_dtls_event (DiscoDtlsLink *link, DiscoDtlsEvent event, const GError *error, gpointer user_data)
{
  Side *side = user_data;
  if (event == DISCO_DTLS_EVENT_CONNECTED)
    side->connected = TRUE;
  else
    {
      side->failed = TRUE;
      if (error && !side->error)
        side->error = g_error_copy (error);
    }
}

static void
on_dtls_message (DiscoDtlsLink *link, const guint8 *data, gsize len, gpointer user_data)
{
  Side *side = user_data;
  g_ptr_array_add (side->received, g_strndup ((const char *)data, len));
}

static gboolean
dtls_settled (gpointer data)
{
  Side **s = data;
  return (s[0]->connected || s[0]->failed) && (s[1]->connected || s[1]->failed);
}

static void
start_dtls (Side **s, const DiscoReloadNodeId *a_expects, const DiscoReloadNodeId *b_expects)
{
  g_autoptr (GError) error = NULL;

  g_ptr_array_set_size (s[0]->received, 0);
  g_ptr_array_set_size (s[1]->received, 0);
  s[0]->dtls = disco_dtls_link_new (s[0]->ice, s[0]->id, a_expects, FALSE, 0, &error);
  g_assert_no_error (error);
  s[1]->dtls = disco_dtls_link_new (s[1]->ice, s[1]->id, b_expects, TRUE, 0, &error);
  g_assert_no_error (error);
  disco_dtls_link_set_callbacks (s[0]->dtls, on_dtls_event, on_dtls_message, s[0]);
  disco_dtls_link_set_callbacks (s[1]->dtls, on_dtls_event, on_dtls_message, s[1]);
  g_assert_true (disco_dtls_link_start (s[0]->dtls, &error));
  g_assert_true (disco_dtls_link_start (s[1]->dtls, &error));
  g_assert_true (iterate_until (dtls_settled, s, 15000));
}

typedef struct
{
  Side *side;
  guint want;
} Want;

static gboolean
has_received (gpointer data)
{
  Want *w = data;
  return w->side->received->len >= w->want || w->side->failed;
}

/* Every message arrives exactly once although one side drops every third
 * datagram after the handshake: DATA frames are retransmitted until ACKed. */
static void
test_dtls_reliable (gconstpointer data)
{
  guint drop = GPOINTER_TO_UINT (data);
  Side *s[2]
      = { side_new (TRUE, "alice@disco.example.org"), side_new (FALSE, "bob@disco.example.org") };
  g_autoptr (GError) error = NULL;
  const guint n = 30;

  connect_pair (s);
  start_dtls (s, disco_reload_identity_get_node_id (s[1]->id),
              disco_reload_identity_get_node_id (s[0]->id));
  g_assert_true (s[0]->connected);
  g_assert_true (s[1]->connected);
  disco_dtls_link_set_drop_every (s[0]->dtls, drop);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *pad = g_strnfill (i * 100, 'a' + i % 26);
      g_autofree char *msg = g_strdup_printf ("%u:%s", i, pad);
      g_assert_true (disco_dtls_link_send (s[0]->dtls, (const guint8 *)msg, strlen (msg), &error));
      g_assert_no_error (error);
    }
  Want w = { s[1], n };
  g_assert_true (iterate_until (has_received, &w, 20000));
  g_assert_false (s[1]->failed);
  g_assert_cmpuint (s[1]->received->len, ==, n);
  gboolean seen[30] = { FALSE };
  for (guint i = 0; i < n; i++)
    {
      const char *m = g_ptr_array_index (s[1]->received, i);
      guint idx = (guint)g_ascii_strtoull (m, NULL, 10);
      g_assert_cmpuint (idx, <, n);
      g_assert_false (seen[idx]);
      seen[idx] = TRUE;
      g_assert_cmpuint (strlen (m), ==, strlen (strchr (m, ':') + 1) + (strchr (m, ':') - m) + 1);
      g_assert_cmpuint (strlen (strchr (m, ':') + 1), ==, idx * 100);
    }
  if (drop)
    g_assert_cmpuint (disco_dtls_link_get_retransmissions (s[0]->dtls), >, 0);

  /* Oversized messages are refused before they reach the wire. */
  g_autofree char *big = g_strnfill (DISCO_RELOAD_DEFAULT_MAX_MESSAGE_SIZE + 1, 'z');
  g_assert_false (disco_dtls_link_send (s[0]->dtls, (const guint8 *)big, strlen (big), &error));
  g_assert_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_TOO_LARGE);
  side_free (s[0]);
  side_free (s[1]);
}

/* A certificate without the Node-ID we expect ends the link on both sides. */
static void
test_dtls_wrong_node_id (void)
{
  Side *s[2]
      = { side_new (TRUE, "alice@disco.example.org"), side_new (FALSE, "bob@disco.example.org") };
  DiscoReloadNodeId wrong = *disco_reload_identity_get_node_id (s[1]->id);

  wrong.id[0] ^= 0xff;
  connect_pair (s);
  start_dtls (s, &wrong, disco_reload_identity_get_node_id (s[0]->id));
  g_assert_true (s[0]->failed);
  g_assert_error (s[0]->error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_PEER_IDENTITY);
  g_autoptr (GError) error = NULL;
  g_assert_false (disco_dtls_link_send (s[0]->dtls, (const guint8 *)"x", 1, &error));
  side_free (s[0]);
  side_free (s[1]);
}

static void
test_bad_remote (void)
{
  Side *a = side_new (TRUE, "alice@disco.example.org");
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) junk
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_ice_candidate_free);
  DiscoReloadIceCandidate *c = disco_reload_ice_candidate_new ();
  c->addr_port.type = 7; /* no such address type */
  c->addr_port.port = 5;
  c->foundation = g_strdup ("1");
  g_ptr_array_add (junk, c);
  c = disco_reload_ice_candidate_new ();
  c->addr_port.type = 1; /* port 0 */
  c->foundation = g_strdup ("2");
  g_ptr_array_add (junk, c);

  g_assert_false (disco_ice_session_set_remote (a->ice, "ufrag", "password", junk, &error));
  g_assert_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_BAD_CANDIDATE);
  g_clear_error (&error);
  g_assert_false (disco_ice_session_set_remote (a->ice, "", NULL, junk, &error));
  g_assert_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_BAD_CANDIDATE);
  g_clear_error (&error);
  g_assert_false (disco_ice_session_send (a->ice, (const guint8 *)"x", 1, &error));
  g_assert_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_NOT_CONNECTED);
  side_free (a);
}

/* ---- two processes in their own network namespaces ---------------------- */

static gboolean
sh (const char *cmd)
{
  const char *argv[] = { "sh", "-c", cmd, NULL };
  g_autofree char *err = NULL;
  int rc = disco_test_run (argv, 10000, NULL, &err);
  if (rc != 0)
    g_test_message ("'%s' failed: %s", cmd, err);
  return rc == 0;
}

static char *
read_line (GDataInputStream *in)
{
  g_autoptr (GError) error = NULL;
  char *line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &error);
  if (line == NULL)
    g_test_message ("read failed: %s", error ? error->message : "EOF");
  return line;
}

static void
test_netns (void)
{
  g_autofree char *ip = g_find_program_in_path ("ip");
  if (geteuid () != 0 || ip == NULL)
    {
      g_test_skip ("needs root and iproute2");
      return;
    }
  g_autofree char *na = g_strdup_printf ("disco-ice-a-%d", getpid ());
  g_autofree char *nb = g_strdup_printf ("disco-ice-b-%d", getpid ());
  g_autofree char *setup = g_strdup_printf (
      "ip netns add %s && ip netns add %s && "
      "ip link add va%d netns %s type veth peer name vb%d netns %s && "
      "ip -n %s addr add 10.77.0.1/30 dev va%d && ip -n %s addr add 10.77.0.2/30 dev vb%d && "
      "ip -n %s link set va%d up && ip -n %s link set vb%d up && "
      "ip -n %s link set lo up && ip -n %s link set lo up",
      na, nb, getpid () % 100000, na, getpid () % 100000, nb, na, getpid () % 100000, nb,
      getpid () % 100000, na, getpid () % 100000, nb, getpid () % 100000, na, nb);
  g_autofree char *teardown = g_strdup_printf ("ip netns del %s; ip netns del %s", na, nb);
  if (!sh (setup))
    {
      sh (teardown);
      g_test_skip ("cannot create network namespaces here");
      return;
    }

  const char *peer = disco_test_program ("DISCO_ICE_PEER_BIN");
  const char *argv_a[] = { "ip",        "netns",  "exec",
                           na,          peer,     "--address",
                           "10.77.0.1", "--user", "alice@disco.example.org",
                           "--request", NULL };
  const char *argv_b[] = { "ip",        "netns",  "exec",
                           nb,          peer,     "--address",
                           "10.77.0.2", "--user", "bob@disco.example.org",
                           "--answer",  NULL };
  g_autoptr (GError) error = NULL;
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE;
  g_autoptr (GSubprocess) a = g_subprocess_newv (argv_a, flags, &error);
  g_assert_no_error (error);
  g_autoptr (GSubprocess) b = g_subprocess_newv (argv_b, flags, &error);
  g_assert_no_error (error);
  g_autoptr (GDataInputStream) ina = g_data_input_stream_new (g_subprocess_get_stdout_pipe (a));
  g_autoptr (GDataInputStream) inb = g_data_input_stream_new (g_subprocess_get_stdout_pipe (b));

  g_autofree char *node_a = read_line (ina), *attach_a = read_line (ina);
  g_autofree char *node_b = read_line (inb), *attach_b = read_line (inb);
  g_assert_nonnull (attach_a);
  g_assert_nonnull (attach_b);
  g_assert_true (g_str_has_prefix (node_a, "node ") && g_str_has_prefix (attach_a, "attach "));
  g_autofree char *to_a = g_strdup_printf ("peer %s %s\n", node_b + 5, attach_b + 7);
  g_autofree char *to_b = g_strdup_printf ("peer %s %s\n", node_a + 5, attach_a + 7);
  g_output_stream_write_all (g_subprocess_get_stdin_pipe (a), to_a, strlen (to_a), NULL, NULL,
                             &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_subprocess_get_stdin_pipe (b), to_b, strlen (to_b), NULL, NULL,
                             &error);
  g_assert_no_error (error);

  g_autofree char *ok_b = read_line (inb);
  g_autofree char *ok_a = read_line (ina);
  g_test_message ("a: %s / b: %s", ok_a, ok_b);
  gboolean wa = g_subprocess_wait (a, NULL, NULL), wb = g_subprocess_wait (b, NULL, NULL);
  sh (teardown);
  g_assert_true (wa && wb);
  g_assert_cmpstr (ok_b, ==, "ok connected");
  g_assert_nonnull (ok_a);
  /* The selected pair runs between the two namespaces' own addresses. */
  g_assert_true (g_str_has_prefix (ok_a, "ok 10.77.0.1:"));
  g_assert_nonnull (strstr (ok_a, " 10.77.0.2:"));
  g_assert_cmpint (g_subprocess_get_exit_status (a), ==, 0);
  g_assert_cmpint (g_subprocess_get_exit_status (b), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ice/loopback", test_ice_loopback);
  g_test_add_data_func ("/ice/dtls/reliable", GUINT_TO_POINTER (0), test_dtls_reliable);
  g_test_add_data_func ("/ice/dtls/reliable-with-loss", GUINT_TO_POINTER (3), test_dtls_reliable);
  g_test_add_func ("/ice/dtls/wrong-node-id", test_dtls_wrong_node_id);
  g_test_add_func ("/ice/bad-remote", test_bad_remote);
  g_test_add_func ("/ice/netns-app-attach", test_netns);
  return g_test_run ();
}
