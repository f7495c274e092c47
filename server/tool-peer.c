/* tool-peer.c: `disco peer`: run a RELOAD peer (admitting peer for clients)
 * until SIGINT/SIGTERM. */
#define G_LOG_DOMAIN "disco-tool"

#include <gio/gio.h>
#include <glib-unix.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

#include "disco-tool.h"
#include "reload-node-profile.h"
#include "reload-node.h"

typedef struct
{
  DiscoReloadNode *node;
  GSocketAddress *address;
  char *text;
  DiscoReloadLinkMode mode;
  guint retry;
} Bootstrap;

static void bootstrap_try (Bootstrap *b);

static gboolean
bootstrap_retry (gpointer user_data)
{
  Bootstrap *b = user_data;
  b->retry = 0;
  bootstrap_try (b);
  return G_SOURCE_REMOVE;
}

static void
on_bootstrapped (GObject *src, GAsyncResult *res, gpointer user_data)
{
  Bootstrap *b = user_data;
  g_autoptr (GError) error = NULL;
  DiscoReloadNodeId peer;
  if (!disco_reload_node_connect_finish (b->node, res, &peer, &error))
    {
      if (g_error_matches (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_NODE_ERROR_CLOSED))
        return;
      g_message ("bootstrap %s: %s; retrying", b->text, error->message);
      b->retry = g_timeout_add_seconds (2, bootstrap_retry, b);
      return;
    }
  g_autofree char *hex = disco_reload_node_id_to_hex (&peer);
  g_message ("linked to %s (node-id %s)", b->text, hex);
}

static void
bootstrap_try (Bootstrap *b)
{
  disco_reload_node_connect_async (b->node, b->address, b->mode, NULL, NULL, on_bootstrapped, b);
}

static void
bootstrap_free (Bootstrap *b)
{
  if (b->retry)
    g_source_remove (b->retry);
  g_clear_object (&b->address);
  g_free (b->text);
  g_free (b);
}

typedef struct
{
  DiscoReloadNode *node;
  char *path;
  char *last; /* what the file holds now */
} StatusFile;

/* The peer's state as JSON: identity, link/storage counters and, with
 * --chord, the routing table (disco_reload_node_chord_to_json). */
static json_object *
peer_status (DiscoReloadNode *node)
{
  DiscoReloadNodeStats st;
  disco_reload_node_get_stats (node, &st);
  json_object *o = json_object_new_object ();
  g_autofree char *hex = disco_reload_node_id_to_hex (disco_reload_node_get_node_id (node));
  json_object_object_add (o, "node_id", json_object_new_string (hex));
  json_object_object_add (o, "links", json_object_new_int ((int)st.links));
  json_object_object_add (o, "peers", json_object_new_int ((int)st.peers));
  json_object_object_add (o, "requests_in", json_object_new_int64 ((gint64)st.requests_in));
  json_object_object_add (o, "forwarded", json_object_new_int64 ((gint64)st.forwarded));
  json_object_object_add (o, "resources", json_object_new_int ((int)st.resources));
  json_object_object_add (o, "values", json_object_new_int ((int)st.values));
  json_object *chord = disco_reload_node_chord_to_json (node);
  if (chord)
    json_object_object_add (o, "chord", chord);
  return o;
}

static gboolean
write_status (gpointer user_data)
{
  StatusFile *sf = user_data;
  json_object *o = peer_status (sf->node);
  g_autoptr (GError) error = NULL;
  const char *text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN);
  /* Atomic (readers never see half a file) but not durable: an fsync a
   * second per peer stalls the main loop on a loaded machine, and
   * unchanged status is not rewritten at all. */
  if (g_strcmp0 (text, sf->last) != 0)
    {
      if (g_file_set_contents_full (sf->path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644,
                                    &error))
        {
          g_free (sf->last);
          sf->last = g_strdup (text);
        }
      else
        g_message ("--status-file: %s", error->message);
    }
  json_object_put (o);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_signal (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

int
disco_tool_cmd_peer (int argc, char **argv)
{
  g_autofree char *listen = NULL; /* GOption overwrites without freeing: no default here */
  g_autofree char *data_dir = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *user = NULL;
  g_autofree char *keylog = NULL;
  g_auto (GStrv) bootstrap = NULL;
  gboolean plaintext = FALSE;
  gboolean chord = FALSE;
  gint stabilize_ms = 0;
  g_autofree char *status_file = NULL;
  GOptionEntry entries[] = {
    { "chord", 0, 0, G_OPTION_ARG_NONE, &chord, "Route with CHORD-RELOAD and join the ring", NULL },
    { "stabilize-ms", 0, 0, G_OPTION_ARG_INT, &stabilize_ms,
      "Chord stabilization interval (default 5000)", "MS" },
    { "status-file", 0, 0, G_OPTION_ARG_FILENAME, &status_file,
      "Rewrite this file with the peer's status JSON every second", "FILE" },
    { "listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "Overlay address (port 0: any)",
      "ADDR:PORT" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "Identity and overlay.xml", "DIR" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Overlay configuration document",
      "FILE" },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user, "User name for a new self-signed identity",
      "NAME" },
    { "bootstrap", 'b', 0, G_OPTION_ARG_STRING_ARRAY, &bootstrap, "Link to this peer at start",
      "ADDR:PORT" },
    { "keylog", 0, 0, G_OPTION_ARG_FILENAME, &keylog, "Append TLS secrets (NSS key log)", "FILE" },
    { "plaintext-test-links", 0, 0, G_OPTION_ARG_NONE, &plaintext,
      "TEST ONLY: links without TLS, so tshark can read them; the overlay configuration "
      "must also enable <disco:plaintext-test-links>",
      NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- run a RELOAD peer");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("disco peer: %s\n", error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }
  g_autoptr (GInetSocketAddress) addr
      = disco_tool_parse_address (listen ? listen : "127.0.0.1:6084", &error);
  if (addr == NULL)
    {
      g_printerr ("disco peer: --listen: %s\n", error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }

  g_autoptr (DiscoReloadConfig) config = NULL;
  g_autoptr (DiscoReloadIdentity) identity = NULL;
  if (!disco_reload_node_profile_load (data_dir, config_path, user, &config, &identity, &error))
    {
      g_printerr ("disco peer: %s\n", error->message);
      return 1;
    }
  if (stabilize_ms < 0)
    {
      g_printerr ("disco peer: --stabilize-ms must not be negative\n");
      return DISCO_TOOL_EXIT_USAGE;
    }
  DiscoReloadLinkMode mode = plaintext ? DISCO_RELOAD_LINK_PLAINTEXT : DISCO_RELOAD_LINK_TLS;
  DiscoReloadNodeSettings s = {
    .identity = identity,
    .config = config,
    .allow_plaintext = plaintext,
    .keylog_path = keylog,
    .chord = chord,
    .chord_first = bootstrap == NULL || bootstrap[0] == NULL,
    .stabilize_ms = (guint)stabilize_ms,
  };
  g_autoptr (DiscoReloadNode) node = disco_reload_node_new (&s, &error);
  if (node == NULL || !disco_reload_node_listen (node, addr, mode, &error))
    {
      g_printerr ("disco peer: %s\n", error->message);
      return 1;
    }

  g_autoptr (GPtrArray) boots = g_ptr_array_new_with_free_func ((GDestroyNotify)bootstrap_free);
  for (char **b = bootstrap; b && *b; b++)
    {
      g_autoptr (GInetSocketAddress) baddr = disco_tool_parse_address (*b, &error);
      if (baddr == NULL)
        {
          g_printerr ("disco peer: --bootstrap: %s\n", error->message);
          return DISCO_TOOL_EXIT_USAGE;
        }
      Bootstrap *bs = g_new0 (Bootstrap, 1);
      bs->node = node;
      bs->address = G_SOCKET_ADDRESS (g_steal_pointer (&baddr));
      bs->text = g_strdup (*b);
      bs->mode = mode;
      g_ptr_array_add (boots, bs);
      bootstrap_try (bs);
    }

  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  guint sigint = g_unix_signal_add (SIGINT, on_signal, loop);
  guint sigterm = g_unix_signal_add (SIGTERM, on_signal, loop);

  GInetSocketAddress *bound = disco_reload_node_get_listen_address (node);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (bound));
  g_autofree char *hex = disco_reload_node_id_to_hex (disco_reload_node_get_node_id (node));
  g_print ("ready overlay=%s:%u node-id=%s user=%s instance=%s pid=%d\n", ip,
           g_inet_socket_address_get_port (bound), hex,
           disco_reload_identity_get_user_name (identity), config->instance_name, (int)getpid ());
  fflush (stdout);

  StatusFile sf = { .node = node, .path = status_file };
  guint status_timer = 0;
  if (status_file)
    {
      write_status (&sf);
      status_timer = g_timeout_add (1000, write_status, &sf);
    }

  g_main_loop_run (loop);
  if (status_timer)
    g_source_remove (status_timer);
  g_free (sf.last);
  if (chord)
    {
      /* RFC 6940 §10.7.3: tell the neighbours and hand the data over, then
       * give the queued messages a moment to leave. */
      disco_reload_node_chord_leave (node);
      gint64 until = g_get_monotonic_time () + 300 * G_TIME_SPAN_MILLISECOND;
      while (g_get_monotonic_time () < until)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (10000);
    }
  /* Free the node first: pending bootstrap retries refer to it. */
  g_clear_pointer (&node, disco_reload_node_free);
  /* Let cancelled callbacks run before the Bootstrap structs go. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  /* Only now: a second SIGTERM during the Leave must not kill us. */
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_message ("peer stopped");
  return 0;
}

/* ---- disco route ------------------------------------------------------------ */

typedef struct
{
  GMainLoop *loop;
  DiscoReloadMessage *ans;
  GError *error;
  DiscoReloadNodeId peer;
  gboolean done;
} RouteWait;

static void
on_route_connected (GObject *src, GAsyncResult *res, gpointer user_data)
{
  RouteWait *w = user_data;
  disco_reload_node_connect_finish (NULL, res, &w->peer, &w->error);
  w->done = TRUE;
  g_main_loop_quit (w->loop);
}

static void
on_route_answer (GObject *src, GAsyncResult *res, gpointer user_data)
{
  RouteWait *w = user_data;
  w->ans = disco_reload_node_request_finish (NULL, res, &w->error);
  w->done = TRUE;
  g_main_loop_quit (w->loop);
}

static gboolean
route_wait (RouteWait *w)
{
  w->done = FALSE;
  g_main_loop_run (w->loop); /* answers always complete from the main loop */
  return w->error == NULL;
}

/* `disco route NODE-ID`: the hop path a message for NODE-ID takes from the
 * peer we link to, walked with RouteQuery (RFC 6940 §10.8): each hop is
 * asked for its next peer, until a hop names itself (it is the
 * destination or responsible for it). */
int
disco_tool_cmd_route (int argc, char **argv)
{
  g_autofree char *peer = NULL, *data_dir = NULL, *config_path = NULL, *user = NULL;
  gboolean json = FALSE;
  gint max_hops = 64;
  GOptionEntry entries[] = {
    { "peer", 'p', 0, G_OPTION_ARG_STRING, &peer, "Peer to start from (required)", "ADDR:PORT" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir, "Identity and overlay.xml", "DIR" },
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Overlay configuration document",
      "FILE" },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &user, "User name for a new self-signed identity",
      "NAME" },
    { "max-hops", 0, 0, G_OPTION_ARG_INT, &max_hops, "Give up after this many hops (64)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx
      = g_option_context_new ("NODE-ID - show the hop path to a Node-ID");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("disco route: %s\n", error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }
  DiscoReloadNodeId target;
  if (argc != 2 || !disco_reload_node_id_from_hex (argv[1], &target))
    {
      g_printerr ("disco route: give one Node-ID (32 hex digits)\n");
      return DISCO_TOOL_EXIT_USAGE;
    }
  if (peer == NULL || max_hops <= 0)
    {
      g_printerr ("disco route: --peer ADDR:PORT is required, --max-hops must be positive\n");
      return DISCO_TOOL_EXIT_USAGE;
    }
  g_autoptr (GInetSocketAddress) addr = disco_tool_parse_address (peer, &error);
  if (addr == NULL)
    {
      g_printerr ("disco route: --peer: %s\n", error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }
  g_autoptr (DiscoReloadConfig) config = NULL;
  g_autoptr (DiscoReloadIdentity) identity = NULL;
  if (!disco_reload_node_profile_load (data_dir, config_path, user, &config, &identity, &error))
    {
      g_printerr ("disco route: %s\n", error->message);
      return 1;
    }
  DiscoReloadNodeSettings s = { .identity = identity, .config = config, .client = TRUE };
  g_autoptr (DiscoReloadNode) node = disco_reload_node_new (&s, &error);
  if (node == NULL)
    {
      g_printerr ("disco route: %s\n", error->message);
      return 1;
    }
  g_autoptr (GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  RouteWait w = { .loop = loop };
  disco_reload_node_connect_async (node, G_SOCKET_ADDRESS (addr), DISCO_RELOAD_LINK_TLS, NULL, NULL,
                                   on_route_connected, &w);
  g_main_loop_run (loop);
  g_autoptr (GArray) path = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  const char *problem = NULL;
  if (w.error == NULL)
    {
      DiscoReloadNodeId asked = w.peer;
      g_array_append_val (path, asked);
      for (;;)
        {
          if ((gint)path->len > max_hops)
            {
              problem = "too many hops";
              break;
            }
          DiscoReloadDestination d;
          memset (&d, 0, sizeof d);
          disco_reload_destination_set_node (&d, &asked);
          DiscoReloadMessage *req
              = disco_reload_node_new_request (node, DISCO_RELOAD_ROUTE_QUERY_REQ, &d);
          memset (&req->body.route_query_req.destination, 0, sizeof (DiscoReloadDestination));
          disco_reload_destination_set_node (&req->body.route_query_req.destination, &target);
          disco_reload_node_request_async (node, req, NULL, on_route_answer, &w);
          if (!route_wait (&w))
            break;
          g_autoptr (DiscoReloadMessage) ans = g_steal_pointer (&w.ans);
          if (ans->message_code != DISCO_RELOAD_ROUTE_QUERY_ANS)
            {
              problem = ans->message_code == DISCO_RELOAD_ERROR
                            ? disco_reload_error_code_name (ans->body.error.error_code)
                            : "unexpected answer";
              break;
            }
          DiscoReloadNodeId next = ans->body.route_query_ans.next_peer;
          if (disco_reload_node_id_equal (&next, &asked))
            break; /* the destination, or the peer responsible for it */
          gboolean seen = FALSE;
          for (guint i = 0; i < path->len && !seen; i++)
            seen = disco_reload_node_id_equal (&next, &g_array_index (path, DiscoReloadNodeId, i));
          g_array_append_val (path, next);
          if (seen)
            {
              problem = "routing loop";
              break;
            }
          asked = next;
        }
    }
  int rc = 0;
  if (w.error)
    {
      g_printerr ("disco route: %s\n", w.error->message);
      g_clear_error (&w.error);
      rc = 1;
    }
  else if (problem)
    {
      g_printerr ("disco route: %s after %u hop(s)\n", problem, path->len);
      rc = 1;
    }
  json_object *hops = json_object_new_array ();
  for (guint i = 0; i < path->len; i++)
    {
      g_autofree char *hex
          = disco_reload_node_id_to_hex (&g_array_index (path, DiscoReloadNodeId, i));
      if (!json)
        g_print ("%2u %s\n", i, hex);
      json_object_array_add (hops, json_object_new_string (hex));
    }
  if (json)
    {
      json_object *o = json_object_new_object ();
      json_object_object_add (o, "ok", json_object_new_boolean (rc == 0));
      json_object_object_add (o, "destination", json_object_new_string (argv[1]));
      json_object_object_add (o, "hops", hops);
      if (problem)
        json_object_object_add (o, "error", json_object_new_string (problem));
      g_print ("%s\n", json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY));
      json_object_put (o);
    }
  else
    json_object_put (hops);
  g_clear_pointer (&node, disco_reload_node_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return rc;
}
