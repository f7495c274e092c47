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
run_json (int expect_status, const char *const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = disco_test_run (argv, 60000, &out, &err);
  g_autofree char *cmd = g_strjoinv (" ", (char **)argv);
  g_test_message ("%s -> %d\n%s%s", cmd, status, out ? out : "", err ? err : "");
  g_assert_cmpint (status, ==, expect_status);
  json_object *o = json_tokener_parse (out ? out : "");
  if (o == NULL)
    g_error ("%s printed no JSON: %s", cmd, out);
  return o;
}

/* Runs a command for its human-readable output; returns stdout, *@err_out
 * (may be NULL) gets stderr. */
static char *
run_human (int expect_status, const char *const *argv, char **err_out)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = disco_test_run (argv, 60000, &out, &err);
  g_autofree char *cmd = g_strjoinv (" ", (char **)argv);
  g_test_message ("%s -> %d\n%s%s", cmd, status, out ? out : "", err ? err : "");
  g_assert_cmpint (status, ==, expect_status);
  if (err_out)
    *err_out = g_steal_pointer (&err);
  return g_steal_pointer (&out);
}

/* Does @text match the extended regular expression @re (one line of it)? */
static void
assert_match (const char *text, const char *re)
{
  if (!g_regex_match_simple (re, text ? text : "", G_REGEX_MULTILINE, 0))
    g_error ("output does not match /%s/:\n%s", re, text ? text : "(none)");
}

/* The member @key of @o, which must be there and not null. */
static json_object *
jget (json_object *o, const char *key)
{
  json_object *v = NULL;
  if (!json_object_object_get_ex (o, key, &v) || v == NULL)
    g_error ("no '%s' in %s", key, json_object_to_json_string (o));
  return v;
}

static const char *
jstr (json_object *o, const char *key)
{
  return json_object_get_string (jget (o, key));
}

static gint64
jint (json_object *o, const char *key)
{
  return json_object_get_int64 (jget (o, key));
}

static gboolean
jbool (json_object *o, const char *key)
{
  json_object *v = NULL;
  g_assert_true (json_object_object_get_ex (o, key, &v));
  return json_object_get_boolean (v);
}

static json_object *
first_value (json_object *o)
{
  json_object *values = NULL;
  g_assert_true (json_object_object_get_ex (o, "values", &values));
  g_assert_cmpuint (json_object_array_length (values), ==, 1);
  return json_object_array_get_idx (values, 0);
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
enroll (Peer *p, const char *name, const char *url, const char *ca_file)
{
  p->dir = g_build_filename (tmp, name, NULL);
  p->user = g_strdup_printf ("%s@disco.example.org", name);
  const char *argv[]
      = { disco,  "enroll", "--server", url,         "--ca-file",         ca_file,  "--data-dir",
          p->dir, "--user", p->user,    "--overlay", "disco.example.org", "--json", NULL };
  json_object *o = run_json (0, argv);
  g_assert_true (jbool (o, "ok"));
  g_assert_cmpstr (jstr (o, "user"), ==, p->user);
  p->node_id = g_strdup (jstr (o, "node_id"));
  g_assert_cmpuint (strlen (p->node_id), ==, 32);
  json_object_put (o);
  g_autofree char *cfg = g_build_filename (p->dir, "overlay.xml", NULL);
  g_assert_true (g_file_test (cfg, G_FILE_TEST_EXISTS));
}

static void
start_peer (Peer *p, const char *const *bootstrap)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (char *)disco);
  g_ptr_array_add (argv, "peer");
  g_ptr_array_add (argv, "--listen");
  g_ptr_array_add (argv, "127.0.0.1:0");
  g_ptr_array_add (argv, "--data-dir");
  g_ptr_array_add (argv, p->dir);
  for (const char *const *b = bootstrap; b && *b; b++)
    {
      g_ptr_array_add (argv, "--bootstrap");
      g_ptr_array_add (argv, (char *)*b);
    }
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  p->proc = disco_test_daemon_spawn_argv ((const char *const *)argv->pdata, 20000, &error);
  g_assert_no_error (error);
  p->addr = g_hash_table_lookup (p->proc->ready, "overlay");
  g_assert_nonnull (p->addr);
  g_assert_cmpstr (g_hash_table_lookup (p->proc->ready, "node-id"), ==, p->node_id);
  g_assert_cmpstr (g_hash_table_lookup (p->proc->ready, "user"), ==, p->user);
}

/* Pings @to through @via as @as until it answers: the peer links are up. */
static void
wait_linked (Peer *via, Peer *as, Peer *to)
{
  for (int i = 0; i < 40; i++)
    {
      const char *argv[] = { disco,  "ping",      "--peer",    via->addr, "--data-dir", as->dir,
                             "--to", to->node_id, "--timeout", "5",       "--json",     NULL };
      g_autofree char *out = NULL, *err = NULL;
      if (disco_test_run (argv, 20000, &out, &err) == 0)
        {
          json_object *o = json_tokener_parse (out);
          g_assert_nonnull (o);
          g_assert_cmpstr (jstr (o, "node_id"), ==, to->node_id);
          json_object_put (o);
          return;
        }
      g_usleep (250 * 1000);
    }
  g_error ("%s never reached %s", via->user, to->user);
}

static void
peer_clear (Peer *p)
{
  if (p->proc)
    {
      /* SIGTERM: a clean exit, leak-checked by LSan in the child. */
      int status = disco_test_daemon_stop (p->proc, SIGTERM, 10000);
      if (status != 0)
        {
          g_autofree char *err = disco_test_daemon_stderr (p->proc);
          g_test_message ("%s stderr:\n%s", p->user, err);
        }
      g_assert_cmpint (status, ==, 0);
      disco_test_daemon_free (p->proc);
    }
  g_free (p->dir);
  g_free (p->user);
  g_free (p->node_id);
}

/* SIGTERM and a clean exit, so LSan checks the child at its exit. */
static void
stop_clean (DiscoTestDaemon *d)
{
  int status = disco_test_daemon_stop (d, SIGTERM, 30000);
  if (status != 0)
    {
      g_autofree char *err = disco_test_daemon_stderr (d);
      g_test_message ("stderr:\n%s", err);
    }
  g_assert_cmpint (status, ==, 0);
}

static void
test_enrolled_peers (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ca_dir = g_build_filename (tmp, "ca", NULL);
  const char *ca_argv[]
      = { disco,  "enroll-server", "--listen",          "127.0.0.1:0", "--data-dir",
          ca_dir, "--overlay",     "disco.example.org", NULL };
  g_autoptr (DiscoTestDaemon) ca = disco_test_daemon_spawn_argv (ca_argv, 20000, &error);
  g_assert_no_error (error);
  const char *config_url = g_hash_table_lookup (ca->ready, "config-url");
  const char *ca_file = g_hash_table_lookup (ca->ready, "ca-file");
  g_assert_nonnull (config_url);
  g_assert_nonnull (ca_file);
  g_autofree char *base = g_strndup (config_url, strstr (config_url, "/.well-known") - config_url);

  /* The configuration document over HTTPS, with the right media type. */
  Peer p1 = { 0 }, p2 = { 0 }, p3 = { 0 }, c = { 0 };
  enroll (&p1, "p1", base, ca_file);
  enroll (&p2, "p2", base, ca_file);
  enroll (&p3, "p3", base, ca_file);
  enroll (&c, "carol", base, ca_file);
  g_autofree char *doc = NULL;
  g_autofree char *cfg = g_build_filename (p1.dir, "overlay.xml", NULL);
  g_assert_true (g_file_get_contents (cfg, &doc, NULL, NULL));
  g_assert_nonnull (strstr (doc, "<root-cert>"));
  g_assert_nonnull (strstr (doc, "enrollment-server"));

  /* Garbage instead of a PKCS#10 request: 403 with the RFC token. */
  if (g_file_test ("/usr/bin/curl", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_autofree char *url = g_strconcat (base, "/enroll", NULL);
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
      g_assert_cmpint (disco_test_run (argv, 30000, &out, &err), ==, 0);
      g_assert_cmpstr (out, ==, "bad_CSR HTTP=403");
      const char *get[] = { "/usr/bin/curl", "-s", "--cacert",        ca_file,    "-o",
                            "/dev/null",     "-w", "%{content_type}", config_url, NULL };
      g_autofree char *ct = NULL;
      g_assert_cmpint (disco_test_run (get, 30000, &ct, NULL), ==, 0);
      g_assert_cmpstr (ct, ==, "application/p2p-overlay+xml");
    }

  /* A bad CSR user name is refused by the client before it asks. */
  {
    g_autofree char *dir = g_build_filename (tmp, "bad", NULL);
    const char *argv[] = { disco,        "enroll", "--server", base,         "--ca-file", ca_file,
                           "--data-dir", dir,      "--user",   "no-at-sign", NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (disco_test_run (argv, 30000, &out, &err), ==, 1);
  }

  start_peer (&p1, NULL);
  const char *b2[] = { p1.addr, NULL };
  start_peer (&p2, b2);
  const char *b3[] = { p1.addr, p2.addr, NULL };
  start_peer (&p3, b3);
  wait_linked (&p1, &c, &p2);
  wait_linked (&p1, &c, &p3);
  wait_linked (&p2, &c, &p3);

  /* Between peers: p2 stores its certificate at p1 (CERTIFICATE_BY_USER at
   * H(p2's user name)); p3 fetches and stats it there. */
  {
    const char *st[] = { disco,      "store",      "--peer", p1.addr,  "--peer-node-id",
                         p1.node_id, "--data-dir", p2.dir,   "--json", NULL };
    json_object *o = run_json (0, st);
    g_assert_true (jbool (o, "ok"));
    json_object *kinds = NULL;
    g_assert_true (json_object_object_get_ex (o, "kinds", &kinds));
    g_assert_cmpint (jint (json_object_array_get_idx (kinds, 0), "generation"), >=, 1);
    json_object_put (o);

    const char *fe[] = { disco,  "fetch",      "--peer", p1.addr,  "--data-dir",
                         p3.dir, "--resource", p2.user,  "--json", NULL };
    o = run_json (0, fe);
    json_object *v = first_value (o);
    g_assert_true (jbool (v, "verified"));
    g_assert_true (jbool (v, "exists"));
    g_assert_cmpstr (jstr (v, "signer_user"), ==, p2.user);
    g_assert_cmpstr (jstr (v, "signer_node_id"), ==, p2.node_id);
    gint64 len = jint (v, "length");
    json_object_put (o);

    const char *sa[] = { disco,  "stat",       "--peer", p1.addr,  "--data-dir",
                         p3.dir, "--resource", p2.user,  "--json", NULL };
    o = run_json (0, sa);
    v = first_value (o);
    g_assert_cmpint (jint (v, "value_length"), ==, len);
    g_assert_cmpuint (strlen (jstr (v, "hash")), ==, 64);
    g_assert_cmpint (jint (o, "generation"), >=, 1);
    json_object_put (o);

    /* The same for humans: one line per value, the signer, the counts. */
    const char *fe_h[]
        = { disco, "fetch", "--peer", p1.addr, "--data-dir", p3.dir, "--resource", p2.user, NULL };
    g_autofree char *fout = run_human (0, fe_h, NULL);
    g_autofree char *want = g_strdup_printf (
        "^  index 0: <%" G_GINT64_FORMAT " bytes>, signed by %s \\(verified\\)$", len, p2.user);
    assert_match (fout, want);
    assert_match (fout, "^1 value\\(s\\), generation [0-9]+$");
    const char *sa_h[]
        = { disco, "stat", "--peer", p1.addr, "--data-dir", p3.dir, "--resource", p2.user, NULL };
    g_autofree char *sout = run_human (0, sa_h, NULL);
    g_autofree char *swant
        = g_strdup_printf ("^  index 0: %" G_GINT64_FORMAT " bytes, sha-256 [0-9a-f]{64}$", len);
    assert_match (sout, swant);
    assert_match (sout, "^1 value\\(s\\), generation [0-9]+$");
    const char *pi_h[] = { disco, "ping", "--peer", p1.addr, "--data-dir", p3.dir, NULL };
    g_autofree char *pout = run_human (0, pi_h, NULL);
    g_autofree char *pwant = g_strdup_printf ("^answer from %s in [0-9]+\\.[0-9] ms$", p1.node_id);
    assert_match (pout, pwant);
    /* Last: a second store appends a second certificate value. */
    const char *st_h[] = { disco,      "store",      "--peer", p1.addr, "--peer-node-id",
                           p1.node_id, "--data-dir", p2.dir,   NULL };
    g_autofree char *out = run_human (0, st_h, NULL);
    assert_match (out, "^stored kind 16 at [0-9a-f]{32}: generation [0-9]+$");
  }

  /* Through a client attached to p3: the store goes p3 -> p1 by Node-ID;
   * the fetch comes from a client attached to p2, also forwarded to p1. */
  {
    const char *st[] = { disco, "store", "--peer",   p3.addr,  "--data-dir",
                         c.dir, "--to",  p1.node_id, "--json", NULL };
    json_object *o = run_json (0, st);
    g_assert_true (jbool (o, "ok"));
    json_object_put (o);

    const char *fe[] = { disco, "fetch", "--peer",   p2.addr,  "--data-dir",
                         c.dir, "--to",  p1.node_id, "--json", NULL };
    o = run_json (0, fe);
    json_object *v = first_value (o);
    g_assert_true (jbool (v, "verified"));
    g_assert_cmpstr (jstr (v, "signer_user"), ==, c.user);
    json_object_put (o);

    /* Not stored at p2 itself: its own answer has no value. */
    const char *fe2[] = { disco, "fetch", "--peer", p2.addr, "--data-dir", c.dir, "--json", NULL };
    o = run_json (0, fe2);
    json_object *values = NULL;
    g_assert_true (json_object_object_get_ex (o, "values", &values));
    for (size_t i = 0; i < json_object_array_length (values); i++)
      g_assert_false (jbool (json_object_array_get_idx (values, i), "exists"));
    json_object_put (o);

    const char *sa[] = { disco, "stat", "--peer",   p3.addr,  "--data-dir",
                         c.dir, "--to", p1.node_id, "--json", NULL };
    o = run_json (0, sa);
    first_value (o);
    json_object_put (o);

    /* Carol may not write under p1's name: Error_Forbidden (code 2). */
    const char *bad[] = { disco,  "store",    "--peer",     p3.addr, "--data-dir", c.dir,
                          "--to", p1.node_id, "--resource", p1.user, "--json",     NULL };
    o = run_json (1, bad);
    g_assert_false (jbool (o, "ok"));
    json_object *e = NULL;
    g_assert_true (json_object_object_get_ex (o, "error", &e));
    g_assert_cmpint (jint (e, "code"), ==, 2);
    g_assert_cmpstr (jstr (e, "name"), ==, "Error_Forbidden");
    json_object_put (o);
    const char *bad_h[] = { disco,  "store",    "--peer",     p3.addr, "--data-dir", c.dir,
                            "--to", p1.node_id, "--resource", p1.user, NULL };
    g_autofree char *berr = NULL;
    g_autofree char *bout = run_human (1, bad_h, &berr);
    g_assert_cmpstr (bout, ==, "");
    assert_match (berr, "^disco store: Error_Forbidden: ");

    /* A client identity that is not enrolled (self-signed) is refused by
     * the peers: this overlay has no self-signed-permitted. */
    g_autofree char *stranger = g_build_filename (tmp, "stranger", NULL);
    const char *pi[]
        = { disco, "ping", "--peer", p1.addr, "--data-dir", stranger, "--timeout", "5", NULL };
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (disco_test_run (pi, 30000, &out, &err), ==, 1);
  }

  /* Garbage instead of TLS on a peer's port: the peer drops that
   * connection and keeps serving. */
  {
    g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    const char *colon = strrchr (p1.addr, ':');
    g_autoptr (GSocketAddress) sa
        = g_inet_socket_address_new (lo, (guint16)g_ascii_strtoull (colon + 1, NULL, 10));
    for (int round = 0; round < 3; round++)
      {
        g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, &error);
        g_assert_true (g_socket_connect (s, sa, NULL, &error));
        guint8 junk[600];
        for (gsize i = 0; i < sizeof junk; i++)
          junk[i] = (guint8)g_random_int ();
        if (round == 1)
          {
            const guint8 hello[] = { 0x16, 0x03, 0x01, 0xff, 0xff, 0x01, 0x00, 0xff, 0xfb };
            memcpy (junk, hello, sizeof hello); /* a ClientHello that claims 64 KiB */
          }
        if (round == 2)
          junk[0] = 0x80; /* a RELOAD DATA frame, in the clear */
        g_socket_send (s, (const char *)junk, sizeof junk, NULL, NULL);
        g_socket_close (s, NULL);
      }
    wait_linked (&p1, &c, &p2);
  }

  peer_clear (&p3);
  peer_clear (&p2);
  peer_clear (&p1);
  peer_clear (&c);
  stop_clean (ca);
}

/* An enrollment server that wants a username and password (RFC 6940
 * §11.3 form fields) refuses a wrong one with failed_authentication. */
static void
test_enroll_password (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ca_dir = g_build_filename (tmp, "ca-auth", NULL);
  g_autofree char *users = g_build_filename (tmp, "users.txt", NULL);
  g_assert_true (
      g_file_set_contents (users, "# user:password\nerin@disco.example.org:s3cret\n", -1, NULL));
  const char *ca_argv[] = { disco,  "enroll-server", "--listen", "127.0.0.1:0", "--data-dir",
                            ca_dir, "--users",       users,      NULL };
  g_autoptr (DiscoTestDaemon) ca = disco_test_daemon_spawn_argv (ca_argv, 20000, &error);
  g_assert_no_error (error);
  const char *config_url = g_hash_table_lookup (ca->ready, "config-url");
  const char *ca_file = g_hash_table_lookup (ca->ready, "ca-file");
  g_autofree char *base = g_strndup (config_url, strstr (config_url, "/.well-known") - config_url);
  g_autofree char *dir = g_build_filename (tmp, "erin", NULL);

  const char *bad[] = { disco,        "enroll",     "--server", base,     "--ca-file",
                        ca_file,      "--data-dir", dir,        "--user", "erin@disco.example.org",
                        "--password", "wrong",      NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (disco_test_run (bad, 30000, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "failed_authentication"));
  g_clear_pointer (&err, g_free);
  const char *none[] = { disco,   "enroll",     "--server", base,     "--ca-file",
                         ca_file, "--data-dir", dir,        "--user", "erin@disco.example.org",
                         NULL };
  g_assert_cmpint (disco_test_run (none, 30000, NULL, &err), ==, 1);
  g_assert_nonnull (strstr (err, "failed_authentication"));

  const char *good[] = { disco,        "enroll",     "--server", base,     "--ca-file",
                         ca_file,      "--data-dir", dir,        "--user", "erin@disco.example.org",
                         "--password", "s3cret",     "--json",   NULL };
  json_object *o = run_json (0, good);
  g_assert_cmpstr (jstr (o, "user"), ==, "erin@disco.example.org");
  json_object_put (o);
  stop_clean (ca);
}

/* Plaintext links (TEST ONLY) need the overlay configuration's consent
 * (<disco:plaintext-test-links>) on top of the --plaintext-test-links
 * flag: a peer or client with the flag alone refuses to start. */
static void
test_plaintext_gate (void)
{
  g_autofree char *dir = g_build_filename (tmp, "plain", NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  static const char head[]
      = "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\"\n"
        "    xmlns:disco=\"urn:x-disco:params:xml:ns:p2p:config-disco\">\n"
        "<configuration instance-name=\"plain.example\" sequence=\"1\">\n"
        "<self-signed-permitted digest=\"sha256\">true</self-signed-permitted>\n";
  g_autofree char *nogate_doc = g_strconcat (head, "</configuration></overlay>\n", NULL);
  g_autofree char *gate_doc
      = g_strconcat (head, "<disco:plaintext-test-links>true</disco:plaintext-test-links>\n",
                     "</configuration></overlay>\n", NULL);
  g_autofree char *nogate = g_build_filename (dir, "nogate.xml", NULL);
  g_autofree char *gate = g_build_filename (dir, "gate.xml", NULL);
  g_assert_true (g_file_set_contents (nogate, nogate_doc, -1, NULL));
  g_assert_true (g_file_set_contents (gate, gate_doc, -1, NULL));
  g_autofree char *pdir = g_build_filename (dir, "peer", NULL);
  g_autofree char *cdir = g_build_filename (dir, "client", NULL);

  /* The flag alone: refused, naming the missing element. */
  const char *refused[] = { disco,
                            "peer",
                            "--listen",
                            "127.0.0.1:0",
                            "--data-dir",
                            pdir,
                            "--config",
                            nogate,
                            "--user",
                            "alice@plain.example",
                            "--plaintext-test-links",
                            NULL };
  g_autofree char *err = NULL;
  g_autofree char *out = run_human (1, refused, &err);
  g_assert_null (strstr (out, "ready"));
  g_assert_nonnull (strstr (err, "plaintext-test-links"));

  /* Both keys: the peer runs in plaintext and a plaintext client reaches it. */
  const char *peer_argv[] = { disco,
                              "peer",
                              "--listen",
                              "127.0.0.1:0",
                              "--data-dir",
                              pdir,
                              "--config",
                              gate,
                              "--user",
                              "alice@plain.example",
                              "--plaintext-test-links",
                              NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoTestDaemon) peer = disco_test_daemon_spawn_argv (peer_argv, 20000, &error);
  g_assert_no_error (error);
  const char *addr = g_hash_table_lookup (peer->ready, "overlay");
  const char *node_id = g_hash_table_lookup (peer->ready, "node-id");
  g_assert_nonnull (addr);
  const char *ping[] = { disco,
                         "ping",
                         "--peer",
                         addr,
                         "--data-dir",
                         cdir,
                         "--config",
                         gate,
                         "--user",
                         "bob@plain.example",
                         "--plaintext-test-links",
                         "--timeout",
                         "20",
                         "--json",
                         NULL };
  json_object *o = run_json (0, ping);
  g_assert_cmpstr (jstr (o, "node_id"), ==, node_id);
  json_object_put (o);

  /* The client with the flag but a document that does not consent. */
  const char *ping_no[] = { disco,
                            "ping",
                            "--peer",
                            addr,
                            "--data-dir",
                            cdir,
                            "--config",
                            nogate,
                            "--user",
                            "bob@plain.example",
                            "--plaintext-test-links",
                            "--timeout",
                            "20",
                            NULL };
  g_autofree char *err2 = NULL;
  g_autofree char *out2 = run_human (1, ping_no, &err2);
  g_assert_nonnull (strstr (err2, "plaintext-test-links"));
  stop_clean (peer);
}

/* The daemon's overlay is a real RELOAD peer: clients ping it and store at
 * it, and its status page reports who it is and what it holds. */
static void
test_daemon_overlay (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoTestDaemon) d = disco_test_daemon_spawn (NULL, &error);
  g_assert_no_error (error);

  g_autofree char *cdir = g_build_filename (tmp, "daemon-client", NULL);
  const char *pi[] = { disco,        "ping", "--peer", d->overlay,
                       "--data-dir", cdir,   "--user", "dave@disco.example.org",
                       "--json",     NULL };
  json_object *o = run_json (0, pi);
  g_autofree char *node_id = g_strdup (jstr (o, "node_id"));
  json_object_put (o);
  const char *st[] = { disco, "store", "--peer", d->overlay, "--data-dir", cdir, "--json", NULL };
  o = run_json (0, st);
  json_object_put (o);

  g_autofree char *body = NULL, *ctype = NULL;
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/api/status", &body, &ctype), ==, 200);
  json_object *doc = json_tokener_parse (body);
  g_assert_nonnull (doc);
  json_object *identity = NULL, *overlay = NULL, *storage = NULL;
  g_assert_true (json_object_object_get_ex (doc, "identity", &identity));
  g_assert_cmpstr (jstr (identity, "node_id"), ==, node_id);
  g_assert_true (json_object_object_get_ex (doc, "overlay", &overlay));
  g_assert_true (json_object_is_type (overlay, json_type_object));
  g_assert_cmpstr (jstr (overlay, "node_id"), ==, node_id);
  g_assert_cmpstr (jstr (overlay, "instance"), ==, "disco.example.org");
  g_assert_nonnull (strstr (jstr (overlay, "user"), "@disco.example.org"));
  g_assert_cmpint (jint (overlay, "requests_in"), >=, 2);
  g_assert_true (json_object_object_get_ex (overlay, "storage", &storage));
  g_assert_cmpint (jint (storage, "values"), ==, 1);
  g_assert_cmpint (jint (storage, "resources"), ==, 1);
  json_object_put (doc);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

static double
metric (GHashTable *samples, const char *direction, const char *type)
{
  g_autofree char *key = g_strdup_printf (
      "disco_overlay_messages_total{direction=\"%s\",type=\"%s\"}", direction, type);
  double *v = g_hash_table_lookup (samples, key);
  return v ? *v : 0;
}

static GHashTable *
scrape (DiscoTestDaemon *d)
{
  g_autofree char *body = NULL;
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/metrics", &body, NULL), ==, 200);
  GHashTable *samples = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *why = NULL;
  if (!disco_test_parse_metrics (body, samples, &why))
    g_error ("metrics do not parse: %s\n%s", why, body);
  return samples;
}

/* Real RELOAD requests to the daemon's overlay port move its per-type
 * counters on /metrics and /api/status: a Ping and a Store answered, a
 * Ping for a Node-ID nobody has dropped (the focus runs no Chord, so it
 * has no route). */
static void
test_daemon_metrics (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoTestDaemon) d = disco_test_daemon_spawn (NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GHashTable) before = scrape (d);
  g_assert_cmpfloat (metric (before, "answered", "store_req"), ==, 0);
  g_assert_cmpfloat (metric (before, "dropped", "ping_req"), ==, 0);
  g_assert_cmpfloat (*(double *)g_hash_table_lookup (before, "disco_overlay_stored_resources"), ==,
                     0);

  g_autofree char *cdir = g_build_filename (tmp, "metrics-client", NULL);
  const char *pi[] = { disco,        "ping", "--peer", d->overlay,
                       "--data-dir", cdir,   "--user", "mia@disco.example.org",
                       "--json",     NULL };
  json_object *o = run_json (0, pi);
  json_object_put (o);
  const char *st[] = { disco, "store", "--peer", d->overlay, "--data-dir", cdir, "--json", NULL };
  o = run_json (0, st);
  json_object_put (o);
  const char *lost[]
      = { disco,        "ping", "--peer",    d->overlay, "--to", "0123456789abcdef0123456789abcdef",
          "--data-dir", cdir,   "--timeout", "20",       NULL };
  g_autofree char *err = NULL;
  g_autofree char *out = run_human (1, lost, &err);

  g_autoptr (GHashTable) after = scrape (d);
  g_assert_cmpfloat (metric (after, "answered", "ping_req"), >=, 1);
  g_assert_cmpfloat (metric (after, "answered", "store_req"), ==, 1);
  g_assert_cmpfloat (metric (after, "dropped", "ping_req"), >=, 1);
  g_assert_cmpfloat (metric (after, "forwarded", "ping_req"), ==, 0);
  g_assert_cmpfloat (*(double *)g_hash_table_lookup (after, "disco_overlay_stored_resources"), ==,
                     1);
  g_assert_cmpfloat (*(double *)g_hash_table_lookup (after, "disco_overlay_replicated_resources"),
                     ==, 0);

  /* The same counters in the status document. */
  g_autofree char *body = NULL;
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/api/status", &body, NULL), ==, 200);
  json_object *doc = json_tokener_parse (body);
  g_assert_nonnull (doc);
  json_object *overlay = NULL, *messages = NULL, *answered = NULL, *dropped = NULL;
  g_assert_true (json_object_object_get_ex (doc, "overlay", &overlay));
  g_assert_true (json_object_object_get_ex (overlay, "messages", &messages));
  g_assert_true (json_object_object_get_ex (messages, "answered", &answered));
  g_assert_true (json_object_object_get_ex (messages, "dropped", &dropped));
  g_assert_cmpint (jint (answered, "store_req"), ==, 1);
  g_assert_cmpint (jint (dropped, "ping_req"), >=, 1);
  json_object_put (doc);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

/* The link entry of /api/status for peer @node_id (new reference), or NULL. */
static json_object *
status_link (DiscoTestDaemon *d, const char *node_id)
{
  g_autofree char *body = NULL;
  if (disco_test_http (d->http, "GET", "/api/status", &body, NULL) != 200)
    return NULL;
  json_object *doc = json_tokener_parse (body);
  json_object *overlay = NULL, *conns = NULL, *found = NULL;
  g_assert_true (json_object_object_get_ex (doc, "overlay", &overlay));
  g_assert_true (json_object_object_get_ex (overlay, "connections", &conns));
  g_assert_true (json_object_is_type (conns, json_type_array));
  for (size_t i = 0; i < json_object_array_length (conns) && !found; i++)
    {
      json_object *c = json_object_array_get_idx (conns, i), *peer = NULL;
      if (json_object_object_get_ex (c, "peer", &peer) && peer
          && g_strcmp0 (json_object_get_string (peer), node_id) == 0)
        found = json_object_get (c);
    }
  json_object_put (doc);
  return found;
}

/* A focus linked to a peer (its [overlay] bootstrap): the link shows up in
 * /api/status with the peer's Node-ID and the framing layer's RTO, a Ping
 * for the peer sent to the focus is forwarded (request and answer counted
 * as forwarded on /metrics), and the ACKed frames give the link an RTT. */
static void
test_daemon_links (void)
{
  Peer p = { 0 };
  p.dir = g_build_filename (tmp, "linked-peer", NULL);
  p.user = g_strdup ("lena@disco.example.org");
  const char *peer_argv[]
      = { disco, "peer", "--listen", "127.0.0.1:0", "--data-dir", p.dir, "--user", p.user, NULL };
  g_autoptr (GError) error = NULL;
  p.proc = disco_test_daemon_spawn_argv (peer_argv, 20000, &error);
  g_assert_no_error (error);
  p.addr = g_hash_table_lookup (p.proc->ready, "overlay");
  p.node_id = g_strdup (g_hash_table_lookup (p.proc->ready, "node-id"));

  g_autofree char *conf = g_build_filename (tmp, "linked-focus.conf", NULL);
  g_autofree char *conf_text = g_strdup_printf ("[overlay]\nbootstrap = %s\n", p.addr);
  g_assert_true (g_file_set_contents (conf, conf_text, -1, NULL));
  const char *args[] = { "--config", conf, NULL };
  g_autoptr (DiscoTestDaemon) d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);

  json_object *link = NULL;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while ((link = status_link (d, p.node_id)) == NULL)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the focus never listed its link to %s", p.node_id);
      g_usleep (100000);
    }
  json_object *v = NULL;
  g_assert_true (json_object_object_get_ex (link, "established", &v));
  g_assert_true (json_object_get_boolean (v));
  g_assert_true (json_object_object_get_ex (link, "mode", &v));
  g_assert_cmpstr (json_object_get_string (v), ==, "tls");
  g_assert_true (json_object_object_get_ex (link, "remote", &v));
  g_assert_cmpstr (json_object_get_string (v), ==, p.addr);
  g_assert_true (json_object_object_get_ex (link, "rto_ms", &v));
  g_assert_true (json_object_is_type (v, json_type_double));
  g_assert_cmpfloat (json_object_get_double (v), >, 0);
  g_assert_true (json_object_object_get_ex (link, "srtt_ms", &v));
  json_object_put (link);

  g_autofree char *cdir = g_build_filename (tmp, "links-client", NULL);
  const char *pi[] = { disco,     "ping",       "--peer", d->overlay, "--to",
                       p.node_id, "--data-dir", cdir,     "--user",   "max@disco.example.org",
                       "--json",  NULL };
  json_object *o = run_json (0, pi);
  g_assert_cmpstr (jstr (o, "node_id"), ==, p.node_id);
  json_object_put (o);

  g_autoptr (GHashTable) m = scrape (d);
  g_assert_cmpfloat (metric (m, "forwarded", "ping_req"), >=, 1);
  g_assert_cmpfloat (metric (m, "forwarded", "ping_ans"), >=, 1);
  g_assert_cmpfloat (metric (m, "answered", "ping_req"), ==, 0);
  g_assert_cmpfloat (*(double *)g_hash_table_lookup (m, "disco_overlay_links"), >=, 1);

  /* The forwarded frames were ACKed: the link has an RTT estimate. */
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  for (;;)
    {
      link = status_link (d, p.node_id);
      g_assert_nonnull (link);
      gboolean have = json_object_object_get_ex (link, "srtt_ms", &v) && v
                      && json_object_is_type (v, json_type_double);
      double srtt = have ? json_object_get_double (v) : -1;
      json_object_put (link);
      if (have)
        {
          g_assert_cmpfloat (srtt, >=, 0);
          break;
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("no RTT sample on the focus's link within 60 s");
      g_usleep (100000);
    }

  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
  stop_clean (p.proc);
  g_clear_pointer (&p.proc, disco_test_daemon_free);
  g_free (p.dir);
  g_free (p.user);
  g_free (p.node_id);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  disco = disco_test_program ("DISCO_BIN");
  tmp = g_dir_make_tmp ("disco-processes-XXXXXX", NULL);
  g_test_add_func ("/node/processes/enrolled-peers", test_enrolled_peers);
  g_test_add_func ("/node/processes/daemon-overlay", test_daemon_overlay);
  g_test_add_func ("/node/processes/daemon-metrics", test_daemon_metrics);
  g_test_add_func ("/node/processes/daemon-links", test_daemon_links);
  g_test_add_func ("/node/processes/enroll-password", test_enroll_password);
  g_test_add_func ("/node/processes/plaintext-gate", test_plaintext_gate);
  int rc = g_test_run ();
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmp);
  if (system (rm) != 0)
    g_message ("could not remove %s", tmp);
  g_free (tmp);
  return rc;
}
