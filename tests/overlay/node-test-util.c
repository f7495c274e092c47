/* node-test-util.c: helpers shared by the in-process overlay tests. */
#include "node-test-util.h"

static guint timeout_s = 30;

void
disco_node_test_set_timeout (guint seconds)
{
  timeout_s = seconds;
}

static gboolean
on_timeout (gpointer user_data)
{
  g_error ("test timed out (%u s)", timeout_s);
  return G_SOURCE_REMOVE;
}

void
disco_node_test_spin_until (gboolean (*done) (gpointer), gpointer data)
{
  guint t = g_timeout_add_seconds (timeout_s, on_timeout, NULL);
  while (!done (data))
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (t);
}

DiscoReloadIdentity *
disco_node_test_make_identity (const char *user)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadConfig) config = disco_reload_config_new_default ();
  DiscoReloadIdentity *id = disco_reload_identity_new_self_signed (
      user, config->instance_name, config->self_signed_digest, 1, 2048, 0, &error);
  g_assert_no_error (error);
  return id;
}

GInetSocketAddress *
disco_node_test_loopback_any (void)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  return G_INET_SOCKET_ADDRESS (g_inet_socket_address_new (lo, 0));
}

gboolean
disco_node_test_result_done (gpointer result)
{
  return ((DiscoNodeTestResult *)result)->done;
}

void
disco_node_test_on_connected (GObject *src, GAsyncResult *res, gpointer user_data)
{
  DiscoNodeTestResult *r = user_data;
  r->ok = disco_reload_node_connect_finish (NULL, res, &r->peer, &r->error);
  r->done = TRUE;
}

void
disco_node_test_on_answer (GObject *src, GAsyncResult *res, gpointer user_data)
{
  DiscoNodeTestResult *r = user_data;
  r->answer = disco_reload_node_request_finish (NULL, res, &r->error);
  r->done = TRUE;
}

void
disco_node_test_connect (DiscoReloadNode *from, DiscoReloadNode *to, gboolean check_id)
{
  const DiscoReloadNodeId *expect = check_id ? disco_reload_node_get_node_id (to) : NULL;
  DiscoNodeTestResult r = { 0 };
  disco_reload_node_connect_async (
      from, G_SOCKET_ADDRESS (disco_reload_node_get_listen_address (to)), DISCO_RELOAD_LINK_TLS,
      expect, NULL, disco_node_test_on_connected, &r);
  disco_node_test_spin_until (disco_node_test_result_done, &r);
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  if (expect)
    g_assert_true (disco_reload_node_id_equal (&r.peer, expect));
}

DiscoReloadMessage *
disco_node_test_request (DiscoReloadNode *node, DiscoReloadMessage *req, GError **error)
{
  DiscoNodeTestResult r = { 0 };
  disco_reload_node_request_async (node, req, NULL, disco_node_test_on_answer, &r);
  disco_node_test_spin_until (disco_node_test_result_done, &r);
  if (r.error)
    g_propagate_error (error, r.error);
  return r.answer;
}

void
disco_node_test_append_chunk (GString *dump, char dir, const guint8 *data, gsize len)
{
  g_string_append_printf (dump, "%c\n", dir);
  for (gsize i = 0; i < len; i++)
    {
      if (i % 16 == 0)
        g_string_append_printf (dump, "%s%06zx", i ? "\n" : "", i);
      g_string_append_printf (dump, " %02x", data[i]);
    }
  g_string_append (dump, "\n");
}
