/* test-processes.c: real processes over loopback TLS: an enrollment server,
 * three peers enrolled through it and linked to each other, signed
 * Store/Fetch/Stat/Ping between them and through a client attached to one
 * of them (forwarded over the peer links), all checked through --json. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "disco-test.h"

static char *tmp;
static const char *disco;

static json_object *
run_json(int expect_status, const char *const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = disco_test_run(argv, 60000, &out, &err);
  g_autofree char *cmd = g_strjoinv(" ", (char **)argv);
  g_test_message("%s -> %d\n%s%s", cmd, status, out ? out : "", err ? err : "");
  g_assert_cmpint(status, ==, expect_status);
  json_object *o = json_tokener_parse(out ? out : "");
  if (o == NULL)
    g_error("%s printed no JSON: %s", cmd, out);
  return o;
}

static const char *
jstr(json_object *o, const char *key)
{
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    g_error("no '%s' in %s", key, json_object_to_json_string(o));
  return json_object_get_string(v);
}

static gint64
jint(json_object *o, const char *key)
{
  json_object *v = NULL;
  if (!json_object_object_get_ex(o, key, &v) || v == NULL)
    g_error("no '%s' in %s", key, json_object_to_json_string(o));
  return json_object_get_int64(v);
}

static gboolean
jbool(json_object *o, const char *key)
{
  json_object *v = NULL;
  g_assert_true(json_object_object_get_ex(o, key, &v));
  return json_object_get_boolean(v);
}

static json_object *
first_value(json_object *o)
{
  json_object *values = NULL;
  g_assert_true(json_object_object_get_ex(o, "values", &values));
  g_assert_cmpuint(json_object_array_length(values), ==, 1);
  return json_object_array_get_idx(values, 0);
}

typedef struct
{
  char *dir;
  char *user;
  char *node_id;
  DiscoTestDaemon *proc;
  const char *addr;
} Peer;

static void
enroll(Peer *p, const char *name, const char *url, const char *ca_file)
{
  p->dir = g_build_filename(tmp, name, NULL);
  p->user = g_strdup_printf("%s@disco.example.org", name);
  const char *argv[]
      = { disco,  "enroll", "--server", url,         "--ca-file",         ca_file,  "--data-dir",
          p->dir, "--user", p->user,    "--overlay", "disco.example.org", "--json", NULL };
  json_object *o = run_json(0, argv);
  g_assert_true(jbool(o, "ok"));
  g_assert_cmpstr(jstr(o, "user"), ==, p->user);
  p->node_id = g_strdup(jstr(o, "node_id"));
  g_assert_cmpuint(strlen(p->node_id), ==, 32);
  json_object_put(o);
  g_autofree char *cfg = g_build_filename(p->dir, "overlay.xml", NULL);
  g_assert_true(g_file_test(cfg, G_FILE_TEST_EXISTS));
}

static void
start_peer(Peer *p, const char *const *bootstrap)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new();
  g_ptr_array_add(argv, (char *)disco);
  g_ptr_array_add(argv, "peer");
  g_ptr_array_add(argv, "--listen");
  g_ptr_array_add(argv, "127.0.0.1:0");
  g_ptr_array_add(argv, "--data-dir");
  g_ptr_array_add(argv, p->dir);
  for (const char *const *b = bootstrap; b && *b; b++)
    {
      g_ptr_array_add(argv, "--bootstrap");
      g_ptr_array_add(argv, (char *)*b);
    }
  g_ptr_array_add(argv, NULL);
  g_autoptr(GError) error = NULL;
  p->proc = disco_test_daemon_spawn_argv((const char *const *)argv->pdata, 20000, &error);
  g_assert_no_error(error);
  p->addr = g_hash_table_lookup(p->proc->ready, "overlay");
  g_assert_nonnull(p->addr);
  g_assert_cmpstr(g_hash_table_lookup(p->proc->ready, "node-id"), ==, p->node_id);
  g_assert_cmpstr(g_hash_table_lookup(p->proc->ready, "user"), ==, p->user);
}

/* Pings @to through @via as @as until it answers: the peer links are up. */
static void
wait_linked(Peer *via, Peer *as, Peer *to)
{
  for (int i = 0; i < 40; i++)
    {
      const char *argv[] = { disco,  "ping",      "--peer",    via->addr, "--data-dir", as->dir,
                             "--to", to->node_id, "--timeout", "5",       "--json",     NULL };
      g_autofree char *out = NULL, *err = NULL;
      if (disco_test_run(argv, 20000, &out, &err) == 0)
        {
          json_object *o = json_tokener_parse(out);
          g_assert_nonnull(o);
          g_assert_cmpstr(jstr(o, "node_id"), ==, to->node_id);
          json_object_put(o);
          return;
        }
      g_usleep(250 * 1000);
    }
  g_error("%s never reached %s", via->user, to->user);
}

static void
peer_clear(Peer *p)
{
  if (p->proc)
    {
      /* SIGTERM: a clean exit, leak-checked by LSan in the child. */
      int status = disco_test_daemon_stop(p->proc, SIGTERM, 10000);
      if (status != 0)
        {
          g_autofree char *err = disco_test_daemon_stderr(p->proc);
          g_test_message("%s stderr:\n%s", p->user, err);
        }
      g_assert_cmpint(status, ==, 0);
      disco_test_daemon_free(p->proc);
    }
  g_free(p->dir);
  g_free(p->user);
  g_free(p->node_id);
}

static void
test_enrolled_peers(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ca_dir = g_build_filename(tmp, "ca", NULL);
  const char *ca_argv[]
      = { disco,  "enroll-server", "--listen",          "127.0.0.1:0", "--data-dir",
          ca_dir, "--overlay",     "disco.example.org", NULL };
  g_autoptr(DiscoTestDaemon) ca = disco_test_daemon_spawn_argv(ca_argv, 20000, &error);
  g_assert_no_error(error);
  const char *config_url = g_hash_table_lookup(ca->ready, "config-url");
  const char *ca_file = g_hash_table_lookup(ca->ready, "ca-file");
  g_assert_nonnull(config_url);
  g_assert_nonnull(ca_file);
  g_autofree char *base = g_strndup(config_url, strstr(config_url, "/.well-known") - config_url);

  /* The configuration document over HTTPS, with the right media type. */
  Peer p1 = { 0 }, p2 = { 0 }, p3 = { 0 }, c = { 0 };
  enroll(&p1, "p1", base, ca_file);
  enroll(&p2, "p2", base, ca_file);
  enroll(&p3, "p3", base, ca_file);
  enroll(&c, "carol", base, ca_file);
  g_autofree char *doc = NULL;
  g_autofree char *cfg = g_build_filename(p1.dir, "overlay.xml", NULL);
  g_assert_true(g_file_get_contents(cfg, &doc, NULL, NULL));
  g_assert_nonnull(strstr(doc, "<root-cert>"));
  g_assert_nonnull(strstr(doc, "enrollment-server"));

  /* Garbage instead of a PKCS#10 request: 403 with the RFC token. */
  if (g_file_test("/usr/bin/curl", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_autofree char *url = g_strconcat(base, "/enroll", NULL);
      const char *argv[] = { "/usr/bin/curl",
                             "-s",
                             "--cacert",
                             ca_file,
                             "-o",
                             "-",
                             "-w",
                             " HTTP=%{http_code}",
                             "-X",
                             "POST",
                             "-H",
                             "Content-Type: application/pkcs10",
                             "--data-binary",
                             "not a CSR",
                             url,
                             NULL };
      g_autofree char *out = NULL, *err = NULL;
      g_assert_cmpint(disco_test_run(argv, 30000, &out, &err), ==, 0);
      g_assert_cmpstr(out, ==, "bad_CSR HTTP=403");
      const char *get[] = { "/usr/bin/curl", "-s", "--cacert",        ca_file,    "-o",
                            "/dev/null",     "-w", "%{content_type}", config_url, NULL };
      g_autofree char *ct = NULL;
      g_assert_cmpint(disco_test_run(get, 30000, &ct, NULL), ==, 0);
      g_assert_cmpstr(ct, ==, "application/p2p-overlay+xml");
    }

  /* A bad CSR user name is refused by the client before it asks. */
  {
    g_autofree char *dir = g_build_filename(tmp, "bad", NULL);
    const char *argv[] = { disco,        "enroll", "--server", base,         "--ca-file", ca_file,
                           "--data-dir", dir,      "--user",   "no-at-sign", NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint(disco_test_run(argv, 30000, &out, &err), ==, 1);
  }

  start_peer(&p1, NULL);
  const char *b2[] = { p1.addr, NULL };
  start_peer(&p2, b2);
  const char *b3[] = { p1.addr, p2.addr, NULL };
  start_peer(&p3, b3);
  wait_linked(&p1, &c, &p2);
  wait_linked(&p1, &c, &p3);
  wait_linked(&p2, &c, &p3);

  /* Between peers: p2 stores its certificate at p1 (CERTIFICATE_BY_USER at
   * H(p2's user name)); p3 fetches and stats it there. */
  {
    const char *st[] = { disco,      "store",      "--peer", p1.addr,  "--peer-node-id",
                         p1.node_id, "--data-dir", p2.dir,   "--json", NULL };
    json_object *o = run_json(0, st);
    g_assert_true(jbool(o, "ok"));
    json_object *kinds = NULL;
    g_assert_true(json_object_object_get_ex(o, "kinds", &kinds));
    g_assert_cmpint(jint(json_object_array_get_idx(kinds, 0), "generation"), >=, 1);
    json_object_put(o);

    const char *fe[] = { disco,  "fetch",      "--peer", p1.addr,  "--data-dir",
                         p3.dir, "--resource", p2.user,  "--json", NULL };
    o = run_json(0, fe);
    json_object *v = first_value(o);
    g_assert_true(jbool(v, "verified"));
    g_assert_true(jbool(v, "exists"));
    g_assert_cmpstr(jstr(v, "signer_user"), ==, p2.user);
    g_assert_cmpstr(jstr(v, "signer_node_id"), ==, p2.node_id);
    gint64 len = jint(v, "length");
    json_object_put(o);

    const char *sa[] = { disco,  "stat",       "--peer", p1.addr,  "--data-dir",
                         p3.dir, "--resource", p2.user,  "--json", NULL };
    o = run_json(0, sa);
    v = first_value(o);
    g_assert_cmpint(jint(v, "value_length"), ==, len);
    g_assert_cmpuint(strlen(jstr(v, "hash")), ==, 64);
    g_assert_cmpint(jint(o, "generation"), >=, 1);
    json_object_put(o);
  }

  /* Through a client attached to p3: the store goes p3 -> p1 by Node-ID;
   * the fetch comes from a client attached to p2, also forwarded to p1. */
  {
    const char *st[] = { disco, "store", "--peer",   p3.addr,  "--data-dir",
                         c.dir, "--to",  p1.node_id, "--json", NULL };
    json_object *o = run_json(0, st);
    g_assert_true(jbool(o, "ok"));
    json_object_put(o);

    const char *fe[] = { disco, "fetch", "--peer",   p2.addr,  "--data-dir",
                         c.dir, "--to",  p1.node_id, "--json", NULL };
    o = run_json(0, fe);
    json_object *v = first_value(o);
    g_assert_true(jbool(v, "verified"));
    g_assert_cmpstr(jstr(v, "signer_user"), ==, c.user);
    json_object_put(o);

    /* Not stored at p2 itself: its own answer has no value. */
    const char *fe2[] = { disco, "fetch", "--peer", p2.addr, "--data-dir", c.dir, "--json", NULL };
    o = run_json(0, fe2);
    json_object *values = NULL;
    g_assert_true(json_object_object_get_ex(o, "values", &values));
    for (size_t i = 0; i < json_object_array_length(values); i++)
      g_assert_false(jbool(json_object_array_get_idx(values, i), "exists"));
    json_object_put(o);

    const char *sa[] = { disco, "stat", "--peer",   p3.addr,  "--data-dir",
                         c.dir, "--to", p1.node_id, "--json", NULL };
    o = run_json(0, sa);
    first_value(o);
    json_object_put(o);

    /* Carol may not write under p1's name: Error_Forbidden (code 2). */
    const char *bad[] = { disco,  "store",    "--peer",     p3.addr, "--data-dir", c.dir,
                          "--to", p1.node_id, "--resource", p1.user, "--json",     NULL };
    o = run_json(1, bad);
    g_assert_false(jbool(o, "ok"));
    json_object *e = NULL;
    g_assert_true(json_object_object_get_ex(o, "error", &e));
    g_assert_cmpint(jint(e, "code"), ==, 2);
    g_assert_cmpstr(jstr(e, "name"), ==, "Error_Forbidden");
    json_object_put(o);

    /* A client identity that is not enrolled (self-signed) is refused by
     * the peers: this overlay has no self-signed-permitted. */
    g_autofree char *stranger = g_build_filename(tmp, "stranger", NULL);
    const char *pi[]
        = { disco, "ping", "--peer", p1.addr, "--data-dir", stranger, "--timeout", "5", NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint(disco_test_run(pi, 30000, &out, &err), ==, 1);
  }

  /* Garbage instead of TLS on a peer's port: the peer drops that
   * connection and keeps serving. */
  {
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    const char *colon = strrchr(p1.addr, ':');
    g_autoptr(GSocketAddress) sa
        = g_inet_socket_address_new(lo, (guint16)g_ascii_strtoull(colon + 1, NULL, 10));
    for (int round = 0; round < 3; round++)
      {
        g_autoptr(GSocket) s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
        g_assert_true(g_socket_connect(s, sa, NULL, &error));
        guint8 junk[600];
        for (gsize i = 0; i < sizeof junk; i++)
          junk[i] = (guint8)g_random_int();
        if (round == 1)
          {
            const guint8 hello[] = { 0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0xff, 0xfb };
            memcpy(junk, hello, sizeof hello); /* a ClientHello that claims 64 KiB */
          }
        if (round == 2)
          junk[0] = 0x80; /* a RELOAD DATA frame, in the clear */
        g_socket_send(s, (const char *)junk, sizeof junk, NULL, NULL);
        g_socket_close(s, NULL);
      }
    wait_linked(&p1, &c, &p2);
  }

  peer_clear(&p3);
  peer_clear(&p2);
  peer_clear(&p1);
  peer_clear(&c);
  /* The enrollment server is killed, not stopped: LSan's exit-time check
   * crashes in its tracer once glib-networking's GnuTLS module is loaded
   * (not our leak; see the report). */
}

/* An enrollment server that wants a username and password (RFC 6940
 * §11.3 form fields) refuses a wrong one with failed_authentication. */
static void
test_enroll_password(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *ca_dir = g_build_filename(tmp, "ca-auth", NULL);
  g_autofree char *users = g_build_filename(tmp, "users.txt", NULL);
  g_assert_true(
      g_file_set_contents(users, "# user:password\nerin@disco.example.org:s3cret\n", -1, NULL));
  const char *ca_argv[] = { disco,  "enroll-server", "--listen", "127.0.0.1:0", "--data-dir",
                            ca_dir, "--users",       users,      NULL };
  g_autoptr(DiscoTestDaemon) ca = disco_test_daemon_spawn_argv(ca_argv, 20000, &error);
  g_assert_no_error(error);
  const char *config_url = g_hash_table_lookup(ca->ready, "config-url");
  const char *ca_file = g_hash_table_lookup(ca->ready, "ca-file");
  g_autofree char *base = g_strndup(config_url, strstr(config_url, "/.well-known") - config_url);
  g_autofree char *dir = g_build_filename(tmp, "erin", NULL);

  const char *bad[] = { disco,        "enroll",     "--server", base,     "--ca-file",
                        ca_file,      "--data-dir", dir,        "--user", "erin@disco.example.org",
                        "--password", "wrong",      NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint(disco_test_run(bad, 30000, &out, &err), ==, 1);
  g_assert_nonnull(strstr(err, "failed_authentication"));
  g_clear_pointer(&err, g_free);
  const char *none[] = { disco,   "enroll",     "--server", base,     "--ca-file",
                         ca_file, "--data-dir", dir,        "--user", "erin@disco.example.org",
                         NULL };
  g_assert_cmpint(disco_test_run(none, 30000, NULL, &err), ==, 1);
  g_assert_nonnull(strstr(err, "failed_authentication"));

  const char *good[] = { disco,        "enroll",     "--server", base,     "--ca-file",
                         ca_file,      "--data-dir", dir,        "--user", "erin@disco.example.org",
                         "--password", "s3cret",     "--json",   NULL };
  json_object *o = run_json(0, good);
  g_assert_cmpstr(jstr(o, "user"), ==, "erin@disco.example.org");
  json_object_put(o);
  /* Killed, not stopped: see test_enrolled_peers. */
}

/* The daemon's overlay is a real RELOAD peer: clients ping it and store at
 * it, and its status page reports who it is and what it holds. */
static void
test_daemon_overlay(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DiscoTestDaemon) d = disco_test_daemon_spawn(NULL, &error);
  g_assert_no_error(error);

  g_autofree char *cdir = g_build_filename(tmp, "daemon-client", NULL);
  const char *pi[] = { disco,        "ping", "--peer", d->overlay,
                       "--data-dir", cdir,   "--user", "dave@disco.example.org",
                       "--json",     NULL };
  json_object *o = run_json(0, pi);
  g_autofree char *node_id = g_strdup(jstr(o, "node_id"));
  json_object_put(o);
  const char *st[] = { disco, "store", "--peer", d->overlay, "--data-dir", cdir, "--json", NULL };
  o = run_json(0, st);
  json_object_put(o);

  g_autofree char *body = NULL, *ctype = NULL;
  g_assert_cmpuint(disco_test_http(d->http, "GET", "/api/status", &body, &ctype), ==, 200);
  json_object *doc = json_tokener_parse(body);
  g_assert_nonnull(doc);
  json_object *identity = NULL, *overlay = NULL, *storage = NULL;
  g_assert_true(json_object_object_get_ex(doc, "identity", &identity));
  g_assert_cmpstr(jstr(identity, "node_id"), ==, node_id);
  g_assert_true(json_object_object_get_ex(doc, "overlay", &overlay));
  g_assert_true(json_object_is_type(overlay, json_type_object));
  g_assert_cmpstr(jstr(overlay, "node_id"), ==, node_id);
  g_assert_cmpstr(jstr(overlay, "instance"), ==, "disco.example.org");
  g_assert_nonnull(strstr(jstr(overlay, "user"), "@disco.example.org"));
  g_assert_cmpint(jint(overlay, "requests_in"), >=, 2);
  g_assert_true(json_object_object_get_ex(overlay, "storage", &storage));
  g_assert_cmpint(jint(storage, "values"), ==, 1);
  g_assert_cmpint(jint(storage, "resources"), ==, 1);
  json_object_put(doc);
  g_assert_cmpint(disco_test_daemon_stop(d, SIGTERM, 10000), ==, 0);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  disco = disco_test_program("DISCO_BIN");
  tmp = g_dir_make_tmp("disco-processes-XXXXXX", NULL);
  g_test_add_func("/node/processes/enrolled-peers", test_enrolled_peers);
  g_test_add_func("/node/processes/daemon-overlay", test_daemon_overlay);
  g_test_add_func("/node/processes/enroll-password", test_enroll_password);
  int rc = g_test_run();
  g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmp);
  if (system(rm) != 0)
    g_message("could not remove %s", tmp);
  g_free(tmp);
  return rc;
}
