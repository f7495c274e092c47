/* Integration tests: the real disco-focus process, its endpoints and lifecycle. */
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>

#include "disco-test.h"

static DiscoTestDaemon *
spawn_or_fail (const char *const *args)
{
  g_autoptr (GError) error = NULL;
  DiscoTestDaemon *d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);
  g_assert_nonnull (d->sip);
  g_assert_nonnull (d->http);
  g_assert_nonnull (d->overlay);
  return d;
}

static void
assert_nonzero_port (const char *hostport)
{
  const char *colon = strrchr (hostport, ':');
  g_assert_nonnull (colon);
  g_assert_cmpint (atoi (colon + 1), >, 0);
}

static json_object *
get_json (json_object *obj, const char *key, json_type type)
{
  json_object *v = NULL;
  if (!json_object_object_get_ex (obj, key, &v))
    g_error ("status document lacks '%s'", key);
  if (!json_object_is_type (v, type))
    g_error ("'%s' has type %s, expected %s", key, json_type_to_name (json_object_get_type (v)),
             json_type_to_name (type));
  return v;
}

static void
test_endpoints (void)
{
  const char *args[] = { "--name", "endpoint-test", NULL };
  g_autoptr (DiscoTestDaemon) d = spawn_or_fail (args);
  g_autofree char *body = NULL, *type = NULL;

  assert_nonzero_port (d->sip);
  assert_nonzero_port (d->http);
  assert_nonzero_port (d->overlay);

  /* HTML page and its own assets. */
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/", &body, &type), ==, 200);
  g_assert_true (g_str_has_prefix (type, "text/html"));
  g_assert_nonnull (strstr (body, "<title>DisCo focus</title>"));
  g_assert_nonnull (strstr (body, "/assets/status.js"));
  g_assert_null (strstr (body, "http://")); /* no external CDN */
  g_assert_null (strstr (body, "https://"));
  g_clear_pointer (&body, g_free);
  g_clear_pointer (&type, g_free);
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/assets/status.js", &body, &type), ==, 200);
  g_assert_true (g_str_has_prefix (type, "text/javascript"));
  g_assert_nonnull (strstr (body, "/api/status"));
  g_clear_pointer (&body, g_free);
  g_clear_pointer (&type, g_free);
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/assets/style.css", NULL, &type), ==, 200);
  g_clear_pointer (&type, g_free);

  /* JSON status, with every documented field. */
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/api/status", &body, &type), ==, 200);
  g_assert_cmpstr (type, ==, "application/json");
  json_object *doc = json_tokener_parse (body);
  g_assert_nonnull (doc);
  g_assert_cmpstr (json_object_get_string (get_json (doc, "schema", json_type_string)), ==,
                   "disco.status/2");
  json_object *sw = get_json (doc, "software", json_type_object);
  g_assert_cmpstr (json_object_get_string (get_json (sw, "name", json_type_string)), ==,
                   "disco-focus");
  get_json (sw, "version", json_type_string);
  json_object *id = get_json (doc, "identity", json_type_object);
  g_assert_cmpstr (json_object_get_string (get_json (id, "name", json_type_string)), ==,
                   "endpoint-test");
  g_assert_cmpint (json_object_get_int (get_json (id, "pid", json_type_int)), >, 0);
  get_json (doc, "started_at", json_type_string);
  g_assert_cmpfloat (json_object_get_double (get_json (doc, "uptime_seconds", json_type_double)),
                     >=, 0);
  json_object *listen = get_json (doc, "listen", json_type_object);
  g_assert_cmpstr (json_object_get_string (get_json (listen, "sip", json_type_string)), ==, d->sip);
  g_assert_cmpstr (json_object_get_string (get_json (listen, "http", json_type_string)), ==,
                   d->http);
  g_assert_cmpstr (json_object_get_string (get_json (listen, "overlay", json_type_string)), ==,
                   d->overlay);
  json_object *ov = get_json (doc, "overlay", json_type_object);
  g_assert_cmpuint (strlen (json_object_get_string (get_json (ov, "node_id", json_type_string))),
                    ==, 32);
  g_assert_cmpstr (json_object_get_string (get_json (ov, "node_id", json_type_string)), ==,
                   json_object_get_string (get_json (id, "node_id", json_type_string)));
  get_json (ov, "links", json_type_int);
  /* The focus's peer runs no Chord: empty neighbour lists, not invented ones. */
  g_assert_false (json_object_get_boolean (get_json (ov, "chord", json_type_boolean)));
  json_object *joined = NULL;
  g_assert_true (json_object_object_get_ex (ov, "joined", &joined));
  g_assert_null (joined);
  const char *lists[] = { "predecessors", "successors", "fingers", "connections" };
  for (gsize i = 0; i < G_N_ELEMENTS (lists); i++)
    g_assert_cmpuint (json_object_array_length (get_json (ov, lists[i], json_type_array)), ==, 0);
  json_object *ostore = get_json (ov, "storage", json_type_object);
  g_assert_cmpint (json_object_get_int (get_json (ostore, "stored", json_type_int)), ==, 0);
  g_assert_cmpint (json_object_get_int (get_json (ostore, "replicated", json_type_int)), ==, 0);
  json_object *msgs = get_json (ov, "messages", json_type_object);
  const char *dirs[] = { "forwarded", "answered", "dropped" };
  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    get_json (msgs, dirs[i], json_type_object);
  get_json (doc, "conferences", json_type_array);
  json_object *load = get_json (doc, "load", json_type_object);
  get_json (load, "participants", json_type_int);
  get_json (load, "capacity", json_type_int);
  json_object_put (doc);
  g_clear_pointer (&body, g_free);
  g_clear_pointer (&type, g_free);

  /* Metrics in the exposition format. */
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/metrics", &body, &type), ==, 200);
  g_assert_true (g_str_has_prefix (type, "text/plain; version=0.0.4"));
  g_autoptr (GHashTable) samples = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *why = NULL;
  if (!disco_test_parse_metrics (body, samples, &why))
    g_error ("metrics do not parse: %s\n%s", why, body);
  const char *required[] = { "disco_uptime_seconds",
                             "disco_process_cpu_seconds_total",
                             "disco_process_resident_memory_bytes",
                             "disco_overlay_links",
                             "disco_overlay_stored_resources",
                             "disco_overlay_replicated_resources" };
  for (gsize i = 0; i < G_N_ELEMENTS (required); i++)
    g_assert_true (g_hash_table_contains (samples, required[i]));
  g_autofree char *build_key = g_strdup_printf ("disco_build_info{version=\"%s\"}", "0.1.0");
  double *build = g_hash_table_lookup (samples, build_key);
  g_assert_nonnull (build);
  g_assert_cmpfloat (*build, ==, 1.0);
  double *rss = g_hash_table_lookup (samples, "disco_process_resident_memory_bytes");
  g_assert_cmpfloat (*rss, >, 1024 * 1024);
  g_clear_pointer (&body, g_free);
  g_clear_pointer (&type, g_free);

  g_assert_cmpuint (disco_test_http (d->http, "GET", "/healthz", &body, NULL), ==, 200);
  g_assert_cmpstr (body, ==, "ok\n");
  g_clear_pointer (&body, g_free);

  /* Unknown paths and methods. */
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/nope", NULL, NULL), ==, 404);
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/assets/nope.js", NULL, NULL), ==, 404);
  g_assert_cmpuint (disco_test_http (d->http, "POST", "/api/status", NULL, NULL), ==, 405);
  g_assert_cmpuint (disco_test_http (d->http, "DELETE", "/", NULL, NULL), ==, 405);
  g_assert_cmpuint (disco_test_http (d->http, "HEAD", "/healthz", NULL, NULL), ==, 200);

  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 5000), ==, 0);
}

static void
test_signal_shutdown (gconstpointer data)
{
  int signum = GPOINTER_TO_INT (data);
  g_autoptr (DiscoTestDaemon) d = spawn_or_fail (NULL);
  gint64 start = g_get_monotonic_time ();

  g_assert_cmpint (disco_test_daemon_stop (d, signum, 5000), ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_TIME_SPAN_SECOND);
}

static void
run_expect_usage_error (const char *const *argv, const char *const *expect)
{
  g_autofree char *out = NULL, *err = NULL;
  int rc = disco_test_run (argv, 10000, &out, &err);

  g_test_message ("stderr: %s", err);
  g_assert_cmpint (rc, ==, 2);
  for (const char *const *e = expect; *e; e++)
    if (strstr (err, *e) == NULL)
      g_error ("stderr '%s' lacks '%s'", err, *e);
  g_assert_null (strstr (out, "ready "));
}

static void
test_bad_config (void)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("disco-bad-XXXXXX.conf", &path, NULL);
  const char *text = "[focus]\nname = ok\n[http]\nlisten = 127.0.0.1:notaport\n";

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, text, strlen (text)), ==, (gssize)strlen (text));
  close (fd);

  const char *argv[] = { disco_test_program ("DISCO_FOCUS_BIN"), "--config", path, NULL };
  g_autofree char *line = g_strdup_printf ("%s:4", path);
  const char *expect[] = { line, "'listen'", "[http]", NULL };
  run_expect_usage_error (argv, expect);

  const char *missing_argv[]
      = { disco_test_program ("DISCO_FOCUS_BIN"), "--config", "/nonexistent/disco.conf", NULL };
  const char *missing_expect[] = { "/nonexistent/disco.conf", NULL };
  run_expect_usage_error (missing_argv, missing_expect);
  g_unlink (path);
}

static void
test_bad_flags (void)
{
  const char *bin = disco_test_program ("DISCO_FOCUS_BIN");
  const char *argv1[] = { bin, "--sip-listen", "example.com:5060", NULL };
  const char *expect1[] = { "--sip-listen", "example.com", NULL };
  const char *argv2[] = { bin, "--no-such-flag", NULL };
  const char *expect2[] = { "no-such-flag", NULL };
  const char *argv3[] = { bin, "stray", NULL };
  const char *expect3[] = { "stray", NULL };

  run_expect_usage_error (argv1, expect1);
  run_expect_usage_error (argv2, expect2);
  run_expect_usage_error (argv3, expect3);
}

static void
test_version (void)
{
  const char *argv[] = { disco_test_program ("DISCO_FOCUS_BIN"), "--version", NULL };
  g_autofree char *out = NULL;

  g_assert_cmpint (disco_test_run (argv, 10000, &out, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "disco-focus 0.1.0\n");
}

/* A bound port must be reported, and a second daemon on it must fail clearly. */
static void
test_port_in_use (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn_or_fail (NULL);
  g_autofree char *flag = g_strdup_printf ("--http-listen=%s", d->http);
  const char *argv[] = { disco_test_program ("DISCO_FOCUS_BIN"), "--sip-listen=127.0.0.1:0",
                         "--overlay-listen=127.0.0.1:0", flag, NULL };
  g_autofree char *out = NULL, *err = NULL;

  int rc = disco_test_run (argv, 10000, &out, &err);
  g_assert_cmpint (rc, ==, 1);
  g_assert_nonnull (strstr (err, "cannot listen for HTTP"));
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/healthz", NULL, NULL), ==, 200);
}

/* The data directory is created private to the user, or the daemon refuses to start. */
static void
test_data_dir (void)
{
  g_autofree char *base = g_dir_make_tmp ("disco-datadir-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (base, "a", "b", NULL);
  const char *args[] = { "--data-dir", dir, NULL };
  g_autoptr (DiscoTestDaemon) d = spawn_or_fail (args);
  GStatBuf st;

  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 5000), ==, 0);

  const char *argv[] = { disco_test_program ("DISCO_FOCUS_BIN"),
                         "--sip-listen=127.0.0.1:0",
                         "--http-listen=127.0.0.1:0",
                         "--overlay-listen=127.0.0.1:0",
                         "--data-dir",
                         "/proc/no/such/place",
                         NULL };
  g_autofree char *err = NULL;
  g_assert_cmpint (disco_test_run (argv, 10000, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "cannot create data directory /proc/no/such/place"));
}

/* Garbage on the HTTP and SIP ports must not take the daemon down. */
static void
test_garbage_input (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn_or_fail (NULL);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) conn
      = g_socket_client_connect_to_host (client, d->http, 0, NULL, &error);
  g_assert_no_error (error);
  const char junk[] = "\x00\x01\x02 NOT HTTP AT ALL\r\n\r\n\xff\xfe";
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), junk, sizeof junk,
                             NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);

  g_autoptr (GSocket) udp
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetSocketAddress) to = G_INET_SOCKET_ADDRESS (
      g_inet_socket_address_new_from_string ("127.0.0.1", atoi (strrchr (d->sip, ':') + 1)));
  for (int i = 0; i < 50; i++)
    {
      guint8 buf[512];
      for (gsize j = 0; j < sizeof buf; j++)
        buf[j] = g_random_int_range (0, 256);
      g_socket_send_to (udp, G_SOCKET_ADDRESS (to), (char *)buf, 1 + i * 10, NULL, NULL);
    }
  const char *sipjunk = "INVITE sip:x SIP/2.0\r\nVia: garbage\r\nContent-Length: 99999\r\n\r\n";
  g_socket_send_to (udp, G_SOCKET_ADDRESS (to), sipjunk, strlen (sipjunk), NULL, NULL);

  g_usleep (200000);
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/healthz", NULL, NULL), ==, 200);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 5000), ==, 0);
}

/* No arguments at all: embedded defaults on the standard ports.  Those may
 * be taken on a shared machine, so the daemon runs in a private network
 * namespace with only loopback, and curl checks it from inside. */
static void
test_no_arguments (void)
{
  g_autofree char *unshare = g_find_program_in_path ("unshare");
  g_autofree char *curl = g_find_program_in_path ("curl");
  if (!unshare || !curl || geteuid () != 0)
    {
      g_test_skip ("needs root, unshare and curl");
      return;
    }
  g_autofree char *home = g_dir_make_tmp ("disco-home-XXXXXX", NULL);
  g_autofree char *script = g_strdup_printf (
      "ip link set lo up || exit 99\n"
      "HOME=%s XDG_DATA_HOME=%s/data '%s' >out.txt 2>err.txt & pid=$!\n"
      "for i in $(seq 100); do grep -q '^ready ' out.txt 2>/dev/null && break; sleep 0.1; done\n"
      "cat out.txt\n"
      "curl -sf http://127.0.0.1:8080/healthz || { kill -9 $pid; exit 98; }\n"
      "kill -TERM $pid; wait $pid; echo \"exit=$?\"\n",
      home, home, disco_test_program ("DISCO_FOCUS_BIN"));
  g_autofree char *cwd = g_strdup (home);
  const char *argv[]
      = { unshare, "-n", "--", "sh", "-c", g_strdup_printf ("cd '%s' && %s", cwd, script), NULL };
  g_autofree char *out = NULL, *err = NULL;
  int rc = disco_test_run (argv, 20000, &out, &err);
  g_free ((char *)argv[5]);

  if (rc == 1 && err && strstr (err, "unshare failed"))
    {
      g_test_skip ("network namespaces are not permitted here");
      return;
    }
  g_test_message ("out: %s\nerr: %s", out, err);
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (
      strstr (out, "ready sip=127.0.0.1:5060 http=127.0.0.1:8080 overlay=127.0.0.1:6084"));
  g_assert_nonnull (strstr (out, "ok\n"));
  g_assert_nonnull (strstr (out, "exit=0"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/daemon/endpoints", test_endpoints);
  g_test_add_data_func ("/daemon/shutdown/sigterm", GINT_TO_POINTER (SIGTERM),
                        test_signal_shutdown);
  g_test_add_data_func ("/daemon/shutdown/sigint", GINT_TO_POINTER (SIGINT), test_signal_shutdown);
  g_test_add_func ("/daemon/bad-config", test_bad_config);
  g_test_add_func ("/daemon/bad-flags", test_bad_flags);
  g_test_add_func ("/daemon/version", test_version);
  g_test_add_func ("/daemon/port-in-use", test_port_in_use);
  g_test_add_func ("/daemon/garbage-input", test_garbage_input);
  g_test_add_func ("/daemon/data-dir", test_data_dir);
  g_test_add_func ("/daemon/no-arguments", test_no_arguments);
  return g_test_run ();
}
