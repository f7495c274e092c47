/* test-ring-tshark.c: Wireshark's reload-framing / reload dissectors
 * (tshark) decode a capture of a converging CHORD-RELOAD ring of real
 * `disco peer --chord` processes on loopback.  dumpcap captures on lo,
 * limited by a capture filter to the ring's listening ports (every link
 * has one of them at one end); the ring forms (Join, Update), a RouteQuery
 * from a client in this process is answered directly and one forwarded
 * hop away, one peer leaves gracefully (SIGTERM: Leave) and the rest
 * reconverge.
 *
 * The links are TLS with NSS key logs (`--keylog`), not plaintext test
 * links: Chord peers do not form a ring over plaintext links (their Attach
 * links are always opened with TLS, and a plaintext link's peer Node-ID is
 * unknown when it comes up, so it never enters the routing table).  tshark
 * decrypts every link with the key logs; the decrypted reload-framing
 * stream of each link is rebuilt as a plaintext TCP capture (see
 * decrypt_capture) and decoded with `-d tcp.port==P,reload-framing` for
 * each port.  The test asserts on tshark's field output that Join,
 * Update, Leave and RouteQuery requests and answers were decoded (the
 * Chord bodies too: the joining peer's Node-ID, ChordUpdate,
 * ChordLeaveData, the RouteQuery answer's next peer) and that no frame is
 * malformed and no expert item has error severity (neither of the two
 * known dissector quirks of wire-checking.md is error-level here: the
 * version byte is only shown as unknown, and the peers never sign with
 * identity type none). */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "disco-test.h"
#include "reload-node-profile.h"
#include "node-test-util.h"
#include "reload-node.h"
#include "ring-test-util.h"

#define PEERS 5
#define STABILIZE_MS "1000"
/* Generous: the machine is shared and everything runs under ASan. */
#define CONVERGE_S 120
#define INSTANCE "disco.example.org" /* the embedded default overlay */

static char *tmp;
static const char *disco;

typedef struct
{
  char *dir;
  char *user;
  char *status;
  char *keylog;
  char *node_id;
  guint port;
  DiscoTestDaemon *proc;
} Peer;

static Peer peers[PEERS];
static volatile pid_t peer_pids[PEERS];
static volatile pid_t capture_pid;

/* A failed assertion aborts: take the ring and dumpcap down with us. */
static void
on_abort (int signo)
{
  disco_ring_test_kill_all (peer_pids, PEERS);
  if (capture_pid > 0)
    kill (capture_pid, SIGKILL);
  signal (signo, SIG_DFL);
  raise (signo);
}

/* A loopback TCP port below the ephemeral range (so no outgoing
 * connection's source port takes it meanwhile) that is free now. */
static guint
free_port (void)
{
  for (int attempt = 0; attempt < 200; attempt++)
    {
      guint port = 20000 + (guint)g_random_int_range (0, 10000);
      g_autoptr (GSocket) s
          = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
      g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr (GSocketAddress) a = g_inet_socket_address_new (lo, (guint16)port);
      gboolean taken = FALSE;
      for (guint i = 0; i < PEERS; i++)
        taken = taken || peers[i].port == port;
      if (!taken && g_socket_bind (s, a, FALSE, NULL))
        return port;
    }
  g_error ("no free loopback port found");
  return 0;
}

static void
start_peer (Peer *p, guint i, const Peer *bootstrap)
{
  p->dir = g_strdup_printf ("%s/p%u", tmp, i);
  p->user = g_strdup_printf ("p%u@" INSTANCE, i);
  p->status = g_strdup_printf ("%s/p%u.json", tmp, i);
  p->keylog = g_strdup_printf ("%s/p%u.keys", tmp, i);
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", p->port);
  g_autofree char *boot = bootstrap ? g_strdup_printf ("127.0.0.1:%u", bootstrap->port) : NULL;
  g_auto (GStrv) argv = disco_ring_test_peer_argv (&(DiscoRingTestPeerArgs){
      .disco = disco,
      .stabilize_ms = STABILIZE_MS,
      .listen = listen,
      .dir = p->dir,
      .user = p->user,
      .status = p->status,
      .keylog = p->keylog,
      .bootstrap = boot,
  });
  g_autoptr (GError) error = NULL;
  p->proc = disco_test_daemon_spawn_argv ((const char *const *)argv, 60000, &error);
  g_assert_no_error (error);
  p->node_id = g_strdup (g_hash_table_lookup (p->proc->ready, "node-id"));
  g_assert_nonnull (p->node_id);
  g_assert_cmpstr (g_hash_table_lookup (p->proc->ready, "overlay"), ==, listen);
  peer_pids[i] = atoi (g_hash_table_lookup (p->proc->ready, "pid"));
}

/* Every live peer has joined and its successors / predecessors are its
 * neighbours in the sorted Node-ID list. */
static gboolean
ring_converged (char **why)
{
  DiscoRingTestMember m[PEERS];
  for (guint i = 0; i < PEERS; i++)
    m[i] = (DiscoRingTestMember){ .node_id = peers[i].proc ? peers[i].node_id : NULL,
                                  .status = peers[i].status,
                                  .name = peers[i].user };
  g_autoptr (GString) w = g_string_new (NULL);
  if (disco_ring_test_converged (m, PEERS, w) < 0)
    return TRUE;
  g_free (*why);
  *why = g_string_free (g_steal_pointer (&w), FALSE);
  return FALSE;
}

static void
wait_converged (const char *what)
{
  g_autofree char *why = NULL;
  gint64 deadline = g_get_monotonic_time () + CONVERGE_S * G_USEC_PER_SEC;
  while (!ring_converged (&why))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%s: the ring did not converge within %d s: %s", what, CONVERGE_S, why);
      g_usleep (200 * 1000);
    }
  g_test_message ("%s: converged", what);
}

/* ---- a RouteQuery from an in-process client -------------------------------- */

/* RFC 6940 §10.8: asks @via's peer (destination @asked, routed through
 * @via's link) for the next hop towards @target; returns the answer's
 * next_peer in hex. */
static char *
route_query (DiscoReloadNode *client, const char *asked, const char *target)
{
  DiscoReloadNodeId asked_id, target_id;
  g_assert_true (disco_reload_node_id_from_hex (asked, &asked_id));
  g_assert_true (disco_reload_node_id_from_hex (target, &target_id));
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_node (&d, &asked_id);
  DiscoReloadMessage *req
      = disco_reload_node_new_request (client, DISCO_RELOAD_ROUTE_QUERY_REQ, &d);
  memset (&req->body.route_query_req.destination, 0, sizeof (DiscoReloadDestination));
  disco_reload_destination_set_node (&req->body.route_query_req.destination, &target_id);
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadMessage) ans = disco_node_test_request (client, req, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ans->message_code, ==, DISCO_RELOAD_ROUTE_QUERY_ANS);
  return disco_reload_node_id_to_hex (&ans->body.route_query_ans.next_peer);
}

/* ---- capture ------------------------------------------------------------------- */

static GSubprocess *
capture_start (const char *pcap, const char *filter)
{
  g_autoptr (GError) error = NULL;
  /* stderr to a file, not a pipe: dumpcap reports on stderr when it stops,
   * and a closed pipe would kill it before the capture file is complete. */
  g_autofree char *log = g_strconcat (pcap, ".log", NULL);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_set_stderr_file_path (l, log);
  GSubprocess *proc = g_subprocess_launcher_spawn (l, &error, "dumpcap", "-i", "lo", "-q", "-f",
                                                   filter, "-w", pcap, NULL);
  g_assert_no_error (error);
  capture_pid = atoi (g_subprocess_get_identifier (proc));
  /* dumpcap says "Capturing on 'Loopback...'" once the filter is set. */
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  for (;;)
    {
      g_autofree char *text = NULL;
      if (g_file_get_contents (log, &text, NULL, NULL) && strstr (text, "Capturing on"))
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("dumpcap did not start capturing: %s", text ? text : "(no output)");
      g_usleep (50 * 1000);
    }
  return proc;
}

static void
capture_stop (GSubprocess *proc, const char *pcap)
{
  g_subprocess_send_signal (proc, SIGINT); /* dumpcap completes the file and exits */
  g_assert_true (g_subprocess_wait (proc, NULL, NULL));
  capture_pid = 0;
  g_autofree char *log = g_strconcat (pcap, ".log", NULL);
  g_autofree char *text = NULL;
  g_file_get_contents (log, &text, NULL, NULL);
  g_test_message ("dumpcap: %s", text ? text : "");
  g_assert_true (g_subprocess_get_if_exited (proc));
  g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
}

/* Counts per message code and the Chord body fields tshark decoded. */
typedef struct
{
  GHashTable *codes;   /* code (decimal string) -> count */
  GHashTable *joining; /* joining_peer_id hex of JoinReqs */
  GHashTable *next;    /* next peers of RouteQuery answers */
  guint updates, leaves, reload_frames;
} Decoded;

static void
count (GHashTable *h, const char *key)
{
  gpointer v = g_hash_table_lookup (h, key);
  g_hash_table_replace (h, g_strdup (key), GUINT_TO_POINTER (GPOINTER_TO_UINT (v) + 1));
}

static guint
count_of (GHashTable *h, guint code)
{
  g_autofree char *key = g_strdup_printf ("%u", code);
  return GPOINTER_TO_UINT (g_hash_table_lookup (h, key));
}

/* tshark prints Node-IDs as bytes "aa:bb:..." or plain hex; normalise. */
static char *
plain_hex (const char *s)
{
  GString *out = g_string_new (NULL);
  for (const char *p = g_str_has_prefix (s, "0x") ? s + 2 : s; *p; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (out, g_ascii_tolower (*p));
  return g_string_free (out, FALSE);
}

static gboolean
is_ring_port (guint port)
{
  for (guint i = 0; i < PEERS; i++)
    if (peers[i].port == port)
      return TRUE;
  return FALSE;
}

typedef struct
{
  guint client, listen;
  GString *dump;
  GByteArray *pending[2]; /* per direction (0: from the client): bytes of an unfinished frame */
  guint frames;
} Stream;

static void
stream_free (Stream *st)
{
  g_string_free (st->dump, TRUE);
  g_byte_array_unref (st->pending[0]);
  g_byte_array_unref (st->pending[1]);
  g_free (st);
}

/* Appends decrypted bytes and emits every complete reload-framing frame
 * (DATA 0x80: type, seq(4), len(3), payload; ACK 0x81: type, ack(4),
 * received(4)) as its own packet.  TCP is a byte stream, so where segments
 * end means nothing; but tshark 4.0's reload-framing mis-sizes the second
 * and later frames of one segment (a DATA frame after an ACK is reported
 * as a 23-byte PDU and malformed), so each frame gets a segment. */
static void
stream_add (Stream *st, gboolean from_client, const guint8 *data, gsize len)
{
  GByteArray *b = st->pending[from_client ? 0 : 1];
  g_byte_array_append (b, data, (guint)len);
  for (;;)
    {
      gsize need;
      if (b->len < 1)
        return;
      if (b->data[0] == 0x80)
        need = b->len < 8 ? G_MAXSIZE
                          : 8 + ((gsize)b->data[5] << 16 | (gsize)b->data[6] << 8 | b->data[7]);
      else if (b->data[0] == 0x81)
        need = 9;
      else
        g_error ("stream %u<->%u: a byte 0x%02x where a reload-framing frame must start",
                 st->client, st->listen, b->data[0]);
      if (b->len < need)
        return;
      disco_node_test_append_chunk (st->dump, from_client ? 'O' : 'I', b->data, need);
      st->frames++;
      g_byte_array_remove_range (b, 0, (guint)need);
    }
}

static void
run_ok (const char *const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  int rc = disco_test_run (argv, 300000, &out, &err);
  if (rc != 0)
    g_error ("%s failed (%d): %s%s", argv[0], rc, out ? out : "", err ? err : "");
}

/* tshark 4.0 cannot hand decrypted TLS to reload-framing (tls.port has
 * no such entry), so, as test-link does: decrypt every link's TLS with the
 * peers' key logs, then rebuild each TCP stream's plaintext RELOAD bytes
 * (record by record, directions and ports kept) with text2pcap and merge
 * the streams into one capture.  Returns its path. */
static char *
decrypt_capture (const char *pcap, const char *keylog)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (argv, g_strdup ("tshark"));
  g_ptr_array_add (argv, g_strdup ("-r"));
  g_ptr_array_add (argv, g_strdup (pcap));
  g_ptr_array_add (argv, g_strdup ("-n"));
  g_ptr_array_add (argv, g_strdup ("-o"));
  g_ptr_array_add (argv, g_strconcat ("tls.keylog_file:", keylog, NULL));
  for (guint i = 0; i < PEERS; i++)
    {
      g_ptr_array_add (argv, g_strdup ("-d"));
      g_ptr_array_add (argv, g_strdup_printf ("tcp.port==%u,tls", peers[i].port));
    }
  const char *tail[] = { "-T", "fields",      "-E", "separator=|", "-e", "tcp.stream",
                         "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "data.data" };
  guint common = argv->len; /* the arguments the checks below share */
  for (gsize i = 0; i < G_N_ELEMENTS (tail); i++)
    g_ptr_array_add (argv, g_strdup (tail[i]));
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  int rc = disco_test_run ((const char *const *)argv->pdata, 300000, &out, &err);
  g_assert_cmpint (rc, ==, 0);

  /* The TLS layer itself is clean and every application data record was
   * decrypted (none is silently left out of what is checked below). */
  const char *checks[]
      = { "_ws.malformed || _ws.expert.severity == error", "tls.app_data && !data.data" };
  for (gsize c = 0; c < G_N_ELEMENTS (checks); c++)
    {
      g_autoptr (GPtrArray) cargv = g_ptr_array_new ();
      for (guint i = 0; i < common; i++)
        g_ptr_array_add (cargv, argv->pdata[i]);
      const char *ctail[] = { "-Y", checks[c], "-T", "fields", "-e", "frame.number", NULL };
      for (gsize i = 0; i < G_N_ELEMENTS (ctail); i++)
        g_ptr_array_add (cargv, (gpointer)ctail[i]);
      g_autofree char *cout = NULL, *cerr = NULL;
      g_assert_cmpint (disco_test_run ((const char *const *)cargv->pdata, 300000, &cout, &cerr), ==,
                       0);
      if (cout && cout[0])
        g_error ("TLS capture: frames matching '%s':\n%s", checks[c], cout);
    }

  g_autoptr (GHashTable) streams
      = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)stream_free);
  g_autoptr (GPtrArray) order = g_ptr_array_new ();
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint records = 0;
  for (char **l = lines; *l; l++)
    {
      g_auto (GStrv) f = g_strsplit (*l, "|", -1);
      if (g_strv_length (f) != 4 || f[3][0] == '\0')
        continue;
      guint sport = (guint)atoi (f[1]), dport = (guint)atoi (f[2]);
      Stream *st = g_hash_table_lookup (streams, f[0]);
      if (st == NULL)
        {
          st = g_new0 (Stream, 1);
          st->listen = is_ring_port (dport) ? dport : sport;
          st->client = st->listen == dport ? sport : dport;
          st->dump = g_string_new (NULL);
          st->pending[0] = g_byte_array_new ();
          st->pending[1] = g_byte_array_new ();
          g_hash_table_insert (streams, g_strdup (f[0]), st);
          g_ptr_array_add (order, st);
        }
      g_auto (GStrv) recs = g_strsplit (f[3], ",", -1);
      for (char **r = recs; *r; r++)
        {
          gsize n = strlen (*r) / 2;
          g_autofree guint8 *bytes = g_malloc (n + 1);
          for (gsize i = 0; i < n; i++)
            bytes[i] = (guint8)(g_ascii_xdigit_value ((*r)[2 * i]) << 4
                                | g_ascii_xdigit_value ((*r)[2 * i + 1]));
          stream_add (st, sport == st->client, bytes, n);
          records++;
        }
    }
  g_test_message ("decrypted %u TLS records in %u streams", records, order->len);
  g_assert_cmpuint (order->len, >=, PEERS);

  g_autoptr (GPtrArray) merge = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (merge, g_strdup ("mergecap"));
  g_ptr_array_add (merge, g_strdup ("-a"));
  g_ptr_array_add (merge, g_strdup ("-w"));
  char *plain = g_strconcat (pcap, ".plain.pcap", NULL);
  g_ptr_array_add (merge, g_strdup (plain));
  for (guint i = 0; i < order->len; i++)
    {
      Stream *st = order->pdata[i];
      /* Only the capture's end may cut a frame. */
      if (st->pending[0]->len || st->pending[1]->len)
        g_test_message ("stream %u<->%u: %u + %u bytes of a frame cut off by the capture's end",
                        st->client, st->listen, st->pending[0]->len, st->pending[1]->len);
      if (st->frames == 0)
        continue;
      g_autofree char *txt = g_strdup_printf ("%s.%u.txt", pcap, i);
      char *one = g_strdup_printf ("%s.%u.pcap", pcap, i);
      g_assert_true (g_file_set_contents (txt, st->dump->str, -1, NULL));
      g_autofree char *ports = g_strdup_printf ("%u,%u", st->client, st->listen);
      const char *t2p[]
          = { "text2pcap", "-q", "-D", "-4", "127.0.0.1,127.0.0.2", "-T", ports, txt, one, NULL };
      run_ok (t2p);
      g_ptr_array_add (merge, one);
    }
  g_ptr_array_add (merge, NULL);
  run_ok ((const char *const *)merge->pdata);
  return plain;
}

/* tshark on @pcap with reload-framing on every ring port, @filter (may be
 * NULL) as display filter and @fields printed; returns stdout. */
static char *
tshark_fields (const char *pcap, const char *filter, const char *const *fields, guint n_fields)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  const char *head[] = { "tshark", "-r", pcap, "-n", "-o", "tcp.desegment_tcp_streams:TRUE" };
  for (gsize i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (argv, g_strdup (head[i]));
  for (guint i = 0; i < PEERS; i++)
    {
      g_ptr_array_add (argv, g_strdup ("-d"));
      g_ptr_array_add (argv, g_strdup_printf ("tcp.port==%u,reload-framing", peers[i].port));
    }
  if (filter)
    {
      g_ptr_array_add (argv, g_strdup ("-Y"));
      g_ptr_array_add (argv, g_strdup (filter));
    }
  const char *tail[]
      = { "-T", "fields", "-E", "separator=|", "-E", "occurrence=a", "-E", "aggregator=;" };
  for (gsize i = 0; i < G_N_ELEMENTS (tail); i++)
    g_ptr_array_add (argv, g_strdup (tail[i]));
  for (guint i = 0; i < n_fields; i++)
    {
      g_ptr_array_add (argv, g_strdup ("-e"));
      g_ptr_array_add (argv, g_strdup (fields[i]));
    }
  g_ptr_array_add (argv, NULL);
  g_autofree char *out = NULL, *err = NULL;
  int rc = disco_test_run ((const char *const *)argv->pdata, 300000, &out, &err);
  g_test_message ("tshark %s: rc=%d, stderr: %s", filter ? filter : "", rc, err ? err : "");
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (out);
  return g_steal_pointer (&out);
}

/* No malformed frame and no expert item of error severity (the two known
 * quirks are not error-level with these peers; see the top). */
static void
assert_clean (const char *pcap)
{
  const char *fields[] = { "frame.number", "_ws.expert.message", "_ws.col.Info" };
  g_autofree char *bad = tshark_fields (
      pcap, "_ws.malformed || _ws.expert.severity == error || reload.message.code == 0", fields,
      G_N_ELEMENTS (fields));
  if (bad[0] != '\0')
    g_error ("tshark found malformed frames or expert errors:\n%s", bad);
}

static void
decode (const char *pcap, Decoded *dec)
{
  const char *fields[] = { "frame.number",
                           "reload.message.code",
                           "reload.joinreq.joining_peer_id",
                           "reload.chordupdate.type",
                           "reload.chordleavedata.type",
                           "reload.chordroutequeryans.nodeid" };
  g_autofree char *out = tshark_fields (pcap, NULL, fields, G_N_ELEMENTS (fields));

  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  guint frames = 0;
  for (char **l = lines; *l; l++)
    {
      if (**l == '\0')
        continue;
      frames++;
      g_auto (GStrv) f = g_strsplit (*l, "|", -1);
      g_assert_cmpuint (g_strv_length (f), ==, G_N_ELEMENTS (fields));
      if (f[1][0] == '\0')
        continue; /* TCP handshake, ACK-only segments, framing ACKs */
      dec->reload_frames++;
      g_auto (GStrv) codes = g_strsplit (f[1], ";", -1);
      for (char **c = codes; *c; c++)
        count (dec->codes, *c);
      g_auto (GStrv) joining = g_strsplit (f[2], ";", -1);
      for (char **j = joining; *j; j++)
        if (**j)
          g_hash_table_add (dec->joining, plain_hex (*j));
      g_auto (GStrv) updates = g_strsplit (f[3], ";", -1);
      for (char **u = updates; *u; u++)
        dec->updates += **u != '\0';
      g_auto (GStrv) leaves = g_strsplit (f[4], ";", -1);
      for (char **u = leaves; *u; u++)
        dec->leaves += **u != '\0';
      g_auto (GStrv) next = g_strsplit (f[5], ";", -1);
      for (char **n = next; *n; n++)
        if (**n)
          g_hash_table_add (dec->next, plain_hex (*n));
    }
  g_test_message ("tshark: %u frames, %u with RELOAD messages", frames, dec->reload_frames);
}

static void
test_ring_capture (void)
{
  /* dumpcap, text2pcap and mergecap come with tshark (wireshark-common). */
  const char *tools[] = { "tshark", "dumpcap", "text2pcap", "mergecap" };
  gboolean have = TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      g_autofree char *path = g_find_program_in_path (tools[i]);
      have = have && path != NULL;
    }
  if (!have)
    {
      g_test_skip ("tshark is not installed (scripts/setup.sh installs it)");
      return;
    }
  g_autofree char *pcap = g_build_filename (tmp, "ring.pcapng", NULL);

  GString *filter = g_string_new ("tcp and (");
  for (guint i = 0; i < PEERS; i++)
    {
      peers[i].port = free_port ();
      g_string_append_printf (filter, "%sport %u", i ? " or " : "", peers[i].port);
    }
  g_string_append (filter, ")");
  g_autofree char *filter_text = g_string_free (filter, FALSE);
  g_autoptr (GSubprocess) cap = capture_start (pcap, filter_text);

  /* The first peer forms the ring; the others join through it. */
  start_peer (&peers[0], 0, NULL);
  for (guint i = 1; i < PEERS; i++)
    start_peer (&peers[i], i, &peers[i - 1 < 2 ? 0 : i - 1]);
  wait_converged ("start");

  /* RouteQuery: a client links to peer 0 and asks peer 0 about itself
   * (the answer names peer 0) and peer 1, forwarded by peer 0, for the way
   * to peer 3's Node-ID. */
  g_autoptr (DiscoReloadConfig) cfg = NULL;
  g_autoptr (DiscoReloadIdentity) identity = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *cdir = g_build_filename (tmp, "client", NULL);
  g_assert_true (
      disco_reload_node_profile_load (cdir, NULL, "rq@" INSTANCE, &cfg, &identity, &error));
  g_assert_no_error (error);
  g_autofree char *client_keys = g_build_filename (tmp, "client.keys", NULL);
  DiscoReloadNodeSettings s
      = { .identity = identity, .config = cfg, .client = TRUE, .keylog_path = client_keys };
  DiscoReloadNode *client = disco_reload_node_new (&s, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) p0 = g_inet_socket_address_new (lo, (guint16)peers[0].port);
  DiscoNodeTestResult linked = { 0 };
  disco_reload_node_connect_async (client, p0, DISCO_RELOAD_LINK_TLS, NULL, NULL,
                                   disco_node_test_on_connected, &linked);
  disco_node_test_spin_until (disco_node_test_result_done, &linked);
  g_assert_no_error (linked.error);
  g_autofree char *self_next = route_query (client, peers[0].node_id, peers[0].node_id);
  g_assert_cmpstr (self_next, ==, peers[0].node_id);
  g_autofree char *hop = route_query (client, peers[1].node_id, peers[3].node_id);
  gboolean known = FALSE;
  for (guint i = 0; i < PEERS; i++)
    known = known || g_str_equal (hop, peers[i].node_id);
  g_assert_true (known);
  g_clear_pointer (&client, disco_reload_node_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;

  /* A graceful leave: SIGTERM makes the peer send Leave and exit cleanly. */
  guint leaver = 2;
  g_assert_cmpint (disco_test_daemon_stop (peers[leaver].proc, SIGTERM, 60000), ==, 0);
  g_clear_pointer (&peers[leaver].proc, disco_test_daemon_free);
  peer_pids[leaver] = 0;
  wait_converged ("after the leave");

  capture_stop (cap, pcap);
  for (guint i = 0; i < PEERS; i++)
    if (peers[i].proc)
      {
        g_assert_cmpint (disco_test_daemon_stop (peers[i].proc, SIGTERM, 60000), ==, 0);
        g_clear_pointer (&peers[i].proc, disco_test_daemon_free);
        peer_pids[i] = 0;
      }

  Decoded dec = {
    .codes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .joining = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    .next = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
  };
  g_autoptr (GString) keys = g_string_new (NULL);
  for (guint i = 0; i < PEERS; i++)
    {
      g_autofree char *k = NULL;
      g_assert_true (g_file_get_contents (peers[i].keylog, &k, NULL, NULL));
      g_string_append (keys, k);
    }
  g_autofree char *ck = NULL;
  g_assert_true (g_file_get_contents (client_keys, &ck, NULL, NULL));
  g_string_append (keys, ck);
  g_autofree char *keylog = g_build_filename (tmp, "all.keys", NULL);
  g_assert_true (g_file_set_contents (keylog, keys->str, -1, NULL));
  g_autofree char *plain = decrypt_capture (pcap, keylog);
  assert_clean (plain);
  decode (plain, &dec);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, dec.codes);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_test_message ("message code %s: %u", (char *)k, GPOINTER_TO_UINT (v));

  /* Join: every peer but the first asked to join, with its own Node-ID. */
  g_assert_cmpuint (count_of (dec.codes, DISCO_RELOAD_JOIN_REQ), >=, PEERS - 1);
  g_assert_cmpuint (count_of (dec.codes, DISCO_RELOAD_JOIN_ANS), >=, PEERS - 1);
  for (guint i = 1; i < PEERS; i++)
    if (!g_hash_table_contains (dec.joining, peers[i].node_id))
      g_error ("no JoinReq with joining_peer_id %s decoded", peers[i].node_id);
  g_assert_false (g_hash_table_contains (dec.joining, peers[0].node_id));
  /* Update with a decoded ChordUpdate body, and its answers. */
  g_assert_cmpuint (count_of (dec.codes, DISCO_RELOAD_UPDATE_REQ), >=, PEERS);
  g_assert_cmpuint (count_of (dec.codes, DISCO_RELOAD_UPDATE_ANS), >=, PEERS);
  g_assert_cmpuint (dec.updates, >=, PEERS);
  /* Leave to the leaver's neighbours, with ChordLeaveData. */
  g_assert_cmpuint (count_of (dec.codes, DISCO_RELOAD_LEAVE_REQ), >=, 1);
  g_assert_cmpuint (dec.leaves, >=, 1);
  /* RouteQuery both ways, the Chord answer body naming the next peers. */
  g_assert_cmpuint (count_of (dec.codes, DISCO_RELOAD_ROUTE_QUERY_REQ), >=, 2);
  g_assert_cmpuint (count_of (dec.codes, DISCO_RELOAD_ROUTE_QUERY_ANS), >=, 2);
  g_assert_true (g_hash_table_contains (dec.next, peers[0].node_id));
  g_assert_true (g_hash_table_contains (dec.next, hop));
  /* Nothing unexpected: every code tshark saw is one of RFC 6940's. */
  g_assert_cmpuint (count_of (dec.codes, 0), ==, 0);

  g_hash_table_unref (dec.codes);
  g_hash_table_unref (dec.joining);
  g_hash_table_unref (dec.next);
  if (g_getenv ("DISCO_KEEP_CAPTURE") == NULL)
    g_unlink (pcap);
  else
    g_printerr ("capture kept: %s\n", pcap);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  disco_node_test_set_timeout (90); /* a RouteQuery through a loaded ring */
  signal (SIGABRT, on_abort);
  signal (SIGTRAP, on_abort);
  disco = disco_test_program ("DISCO_BIN");
  tmp = g_dir_make_tmp ("disco-ring-tshark-XXXXXX", NULL);
  g_test_add_func ("/node/ring-tshark/join-update-leave-routequery", test_ring_capture);
  int rc = g_test_run ();
  if (g_getenv ("DISCO_KEEP_CAPTURE") == NULL)
    {
      g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmp);
      g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL);
    }
  for (guint i = 0; i < PEERS; i++)
    {
      g_clear_pointer (&peers[i].proc, disco_test_daemon_free);
      g_free (peers[i].dir);
      g_free (peers[i].user);
      g_free (peers[i].status);
      g_free (peers[i].node_id);
    }
  g_free (tmp);
  return rc;
}
