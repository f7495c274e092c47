/* test-sip-calls.c: calls into a real disco-focus with sipp: joining and
 * streaming PCMU, OPTIONS, capacity, bad input. */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sip-test.h"

#define CONF "sip:conf@127.0.0.1"

static DiscoTestDaemon *
spawn (const char *const *extra)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_ptr_array_add (args, "--conference=" CONF);
  for (const char *const *a = extra; a && *a; a++)
    g_ptr_array_add (args, (char *)*a);
  g_ptr_array_add (args, NULL);
  DiscoTestDaemon *d = disco_test_daemon_spawn ((const char *const *)args->pdata, &error);
  g_assert_no_error (error);
  return d;
}

static void
check_daemon_alive_and_stop (DiscoTestDaemon *d)
{
  int rc = disco_test_daemon_stop (d, SIGTERM, 10000);
  if (rc != 0)
    {
      g_autofree char *err = disco_test_daemon_stderr (d);
      g_test_message ("daemon stderr:\n%s", err);
    }
  g_assert_cmpint (rc, ==, 0);
}

typedef struct
{
  DiscoTestDaemon *d;
  gint64 packets;
  int participants;
} Watch;

static gboolean
rtp_seen (gpointer data)
{
  Watch *w = data;
  g_autoptr (json_object) st = sip_test_status (w->d);
  json_object *conf = sip_test_status_conference (st, CONF);
  json_object *parts = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "participants", &parts))
    return FALSE;
  w->participants = (int)json_object_array_length (parts);
  for (size_t i = 0; i < json_object_array_length (parts); i++)
    {
      json_object *p = json_object_array_get_idx (parts, i), *v;
      if (json_object_object_get_ex (p, "rtp_packets_in", &v))
        w->packets = json_object_get_int64 (v);
      if (json_object_object_get_ex (p, "codec", &v))
        g_assert_cmpstr (json_object_get_string (v), ==, "PCMU");
      if (json_object_object_get_ex (p, "focus", &v))
        g_assert_true (g_str_has_prefix (json_object_get_string (v), "sip:127.0.0.1:"));
    }
  return w->packets > 20;
}

/* The roster settles just after sipp sees its BYE answered (nua answers
 * before the focus hears of the end): poll for it. */
static gboolean
no_participant (gpointer data)
{
  Watch *w = data;
  rtp_seen (w);
  return w->participants == 0;
}

/* The status page's per-participant figures (issue: codec, duration,
 * loss, talking): present with sane values, and a caller streaming a loud
 * tone is reported talking. */
static gboolean
talking_with_figures (gpointer data)
{
  Watch *w = data;
  g_autoptr (json_object) st = sip_test_status (w->d);
  json_object *conf = sip_test_status_conference (st, CONF), *parts = NULL, *v = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "participants", &parts)
      || json_object_array_length (parts) != 1)
    return FALSE;
  json_object *p = json_object_array_get_idx (parts, 0);
  g_assert_true (json_object_object_get_ex (p, "duration_seconds", &v));
  g_assert_true (json_object_is_type (v, json_type_double));
  double duration = json_object_get_double (v);
  g_assert_cmpfloat (duration, >=, 0);
  g_assert_true (json_object_object_get_ex (p, "loss_percent", &v));
  double loss = json_object_get_double (v);
  g_assert_cmpfloat (loss, >=, 0);
  g_assert_cmpfloat (loss, <=, 100);
  g_assert_true (json_object_object_get_ex (p, "talking", &v));
  g_assert_true (json_object_is_type (v, json_type_boolean));
  return json_object_get_boolean (v) && duration > 1.0;
}

/* One caller joins, streams a PCMU tone, the focus counts its RTP, the
 * caller leaves and the roster is empty again. */
static void
test_pcmu_call (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *extra[] = { "-s", "conf", "-m", "1", "-d", "6000", NULL };
  g_autoptr (SipTestSipp) s = sip_test_sipp_start (d->sip, "uac-pcmu.xml", 30, 440, extra);
  Watch w = { d, 0, 0 };

  g_assert_true (sip_test_wait_until (rtp_seen, &w, 10000));
  g_assert_cmpint (w.participants, ==, 1);
  g_assert_true (sip_test_wait_until (talking_with_figures, &w, 5000));
  g_assert_cmpint (sip_test_sipp_wait (s, 40000), ==, 0);
  g_assert_true (sip_test_wait_until (no_participant, &w, 20000));
  check_daemon_alive_and_stop (d);
}

static void
test_options (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *extra[] = { "-s", "conf", "-m", "1", NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "options.xml", 15, 0, extra), ==, 0);
  check_daemon_alive_and_stop (d);
}

/* Bytes that are not SIP, or almost SIP, straight at the SIP port. */
static void
send_garbage (const char *hostport)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnectable) c = g_network_address_parse (hostport, 5060, &error);
  g_assert_no_error (error);
  g_autoptr (GSocketAddressEnumerator) en = g_socket_connectable_enumerate (c);
  g_autoptr (GSocketAddress) addr = g_socket_address_enumerator_next (en, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (GSocket) s
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  const char *const texts[] = {
    "\r\n\r\n",
    "INVITE\r\n\r\n",
    "INVITE sip:conf@127.0.0.1 SIP/2.0\r\nVia: garbage\r\nContent-Length: 99999\r\n\r\nv=0",
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\n\r\n",
    "SUBSCRIBE sip:conf@127.0.0.1 SIP/2.0\r\nEvent: conference\r\n\r\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    g_socket_send_to (s, addr, texts[i], strlen (texts[i]), NULL, NULL);
  GRand *rand = g_rand_new_with_seed (4575);
  for (int i = 0; i < 200; i++)
    {
      guint8 buf[1400];
      gsize len = g_rand_int_range (rand, 1, sizeof buf);
      for (gsize j = 0; j < len; j++)
        buf[j] = (guint8)g_rand_int (rand);
      g_socket_send_to (s, addr, (const char *)buf, len, NULL, NULL);
    }
  g_rand_free (rand);
}

/* A reply on @s within 20 s: its status code and reason, or 0. */
static int
reply_on (GSocket *s, char **reason, char **branch)
{
  char buf[8192];
  if (!g_socket_condition_timed_wait (s, G_IO_IN, 20 * G_USEC_PER_SEC, NULL, NULL))
    return 0;
  gssize n = g_socket_receive (s, buf, sizeof buf - 1, NULL, NULL);
  if (n <= 12 || !g_str_has_prefix (buf, "SIP/2.0 "))
    return 0;
  buf[n] = 0;
  if (reason)
    *reason = g_strndup (buf + 12, strcspn (buf + 12, "\r\n"));
  const char *b = strstr (buf, "branch=");
  if (branch)
    *branch = b ? g_strndup (b + 7, strcspn (b + 7, ";\r\n ")) : NULL;
  return atoi (buf + 8);
}

/* Requests that are broken but whose Via can be read get an error reply
 * to that Via (RFC 3261 §8.2, §16.3); bytes that are not SIP, and stray
 * responses, get none.  The next good request is answered as usual. */
static void
test_malformed_replies (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) s
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (s, any, FALSE, &error));
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (s, NULL);
  guint lp = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  g_autofree char *host = g_strndup (d->sip, strrchr (d->sip, ':') - d->sip);
  g_autoptr (GSocketAddress) focus
      = g_inet_socket_address_new_from_string (host, atoi (strrchr (d->sip, ':') + 1));
  const char *hdr = "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <" CONF ">\r\nMax-Forwards: 70\r\n";
  struct
  {
    const char *what, *fmt;
    int code;
  } cases[] = {
    { "no From/To/Call-ID",
      "OPTIONS " CONF " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-m1\r\n%s"
      "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
      400 },
    { "bad CSeq",
      "INVITE " CONF " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-m2\r\n%s"
      "Call-ID: m2\r\nCSeq: banana INVITE\r\nContent-Length: 0\r\n\r\n",
      400 },
    { "Content-Length past the end",
      "INVITE " CONF " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-m3\r\n%s"
      "Call-ID: m3\r\nCSeq: 1 INVITE\r\nContent-Length: 500\r\n\r\nv=0",
      400 },
    { "unknown method",
      "FROB " CONF " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-m4\r\n%s"
      "Call-ID: m4\r\nCSeq: 1 FROB\r\nContent-Length: 0\r\n\r\n",
      501 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      /* The first case must not have From/To: its format skips them. */
      g_autofree char *msg = g_strdup_printf (cases[i].fmt, lp, i == 0 ? "" : hdr);
      g_socket_send_to (s, focus, msg, strlen (msg), NULL, &error);
      g_assert_no_error (error);
      g_autofree char *reason = NULL, *branch = NULL;
      int code = reply_on (s, &reason, &branch);
      g_test_message ("%s: %d %s", cases[i].what, code, reason ? reason : "");
      g_assert_cmpint (code, ==, cases[i].code);
      g_autofree char *want = g_strdup_printf ("z9hG4bK-m%u", i + 1);
      g_assert_cmpstr (branch, ==, want);
    }

  /* No reply to these: the next thing on the socket is the OPTIONS 200. */
  const char *silent[] = {
    "\r\n\r\n",
    "\x01\x02garbage\xff",
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nCSeq: 1 INVITE\r\n\r\n",
  };
  for (guint i = 0; i < G_N_ELEMENTS (silent); i++)
    g_socket_send_to (s, focus, silent[i], strlen (silent[i]), NULL, NULL);
  g_autofree char *ok = g_strdup_printf (
      "OPTIONS " CONF " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-good\r\n%s"
      "Call-ID: good\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
      lp, hdr);
  g_socket_send_to (s, focus, ok, strlen (ok), NULL, &error);
  g_assert_no_error (error);
  g_autofree char *branch = NULL;
  g_assert_cmpint (reply_on (s, NULL, &branch), ==, 200);
  g_assert_cmpstr (branch, ==, "z9hG4bK-good");
  check_daemon_alive_and_stop (d);
}

/* Requests for a conference this focus does not serve: 404 to INVITE
 * (test_bad_input), OPTIONS, SUBSCRIBE and REFER. */
static void
test_unknown_conference (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *nosuch[] = { "-s", "nosuchconf", "-m", "1", NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "unknown-conference.xml", 30, 0, nosuch), ==, 0);
  check_daemon_alive_and_stop (d);
}

/* Malformed SDP, unknown codecs, unknown conference, unknown event and
 * garbage datagrams are refused with the right codes; the daemon keeps
 * serving (a good call afterwards) and exits cleanly. */
static void
test_bad_input (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *conf[] = { "-s", "conf", "-m", "1", NULL };
  const char *nosuch[] = { "-s", "nosuchconf", "-m", "1", NULL };

  g_assert_cmpint (sip_test_sipp_run (d->sip, "invite-malformed-sdp.xml", 15, 0, conf), ==, 0);
  g_assert_cmpint (sip_test_sipp_run (d->sip, "invite-unknown-codecs.xml", 15, 0, conf), ==, 0);
  g_assert_cmpint (sip_test_sipp_run (d->sip, "invite-404.xml", 15, 0, nosuch), ==, 0);
  g_assert_cmpint (sip_test_sipp_run (d->sip, "subscribe-bad-event.xml", 15, 0, conf), ==, 0);
  send_garbage (d->sip);

  const char *good[] = { "-s", "conf", "-m", "2", "-r", "2", "-d", "500", NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "uac-pcmu.xml", 30, 440, good), ==, 0);
  Watch w = { d, 0, 0 };
  g_assert_true (sip_test_wait_until (no_participant, &w, 20000));
  check_daemon_alive_and_stop (d);
}

/* At capacity with no other focus known: 503 + Retry-After, at once. */
static void
test_capacity (void)
{
  const char *args[] = { "--max-participants=1", NULL };
  g_autoptr (DiscoTestDaemon) d = spawn (args);
  const char *first[] = { "-s", "conf", "-m", "1", "-d", "8000", NULL };
  g_autoptr (SipTestSipp) s = sip_test_sipp_start (d->sip, "uac-pcmu.xml", 30, 440, first);
  Watch w = { d, 0, 0 };
  g_assert_true (sip_test_wait_until (rtp_seen, &w, 10000));

  const char *second[] = { "-s", "conf", "-m", "3", "-r", "3", NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "invite-503.xml", 15, 0, second), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (s, 30000), ==, 0);
  check_daemon_alive_and_stop (d);
}

static gint64
admission_rejected (DiscoTestDaemon *d)
{
  g_autoptr (json_object) st = sip_test_status (d);
  json_object *conf = sip_test_status_conference (st, CONF), *a = NULL, *v = NULL;
  if (conf && json_object_object_get_ex (conf, "admission", &a)
      && json_object_object_get_ex (a, "rejected", &v))
    return json_object_get_int64 (v);
  return -1;
}

/* An INVITE flood far above the join rate: every call gets a final answer
 * (200, or 503 + Retry-After checked by the scenario) instead of timing out,
 * the daemon stays healthy and serves a normal call afterwards. */
static void
test_overload_flood (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cfg_path = sip_test_write_config ("[sip]\nmax-join-rate = 20\n");
  const char *args[] = { "--config", cfg_path, NULL };
  g_autoptr (DiscoTestDaemon) d = spawn (args);

  const char *flood[] = { "-s", "conf", "-m", "300", "-r", "150", "-l", "300", "-d", "300", NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "invite-flood.xml", 90, 0, flood), ==, 0);
  gint64 rejected = admission_rejected (d);
  g_test_message ("%" G_GINT64_FORMAT " of 300 INVITEs refused by load admission", rejected);
  g_assert_cmpint (rejected, >, 0);
  g_assert_cmpint (rejected, <, 300);

  g_autofree char *body = NULL;
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/healthz", &body, NULL), ==, 200);
  const char *good[] = { "-s", "conf", "-m", "1", "-d", "500", NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "uac-pcmu.xml", 30, 440, good), ==, 0);
  Watch w = { d, 0, 0 };
  g_assert_true (sip_test_wait_until (no_participant, &w, 20000));
  check_daemon_alive_and_stop (d);
  g_unlink (cfg_path);
}

/* One INVITE for the lag test, sent from @sock (raw UDP, so that it is in
 * the focus's socket buffer once the send returns). */
static void
send_lag_invite (GSocket *sock, GSocketAddress *to, const char *target, guint lport, int n)
{
  const char *sdp = "v=0\r\no=lag 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                    "m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
  g_autofree char *msg
      = g_strdup_printf ("INVITE sip:conf@%s SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-lag-%d-%d\r\n"
                         "From: <sip:lag%d@127.0.0.1:%u>;tag=lag%d\r\n"
                         "To: <sip:conf@%s>\r\n"
                         "Call-ID: lag-%d-%d@127.0.0.1\r\n"
                         "CSeq: 1 INVITE\r\n"
                         "Contact: <sip:lag%d@127.0.0.1:%u>\r\n"
                         "Max-Forwards: 70\r\n"
                         "Content-Type: application/sdp\r\n"
                         "Content-Length: %zu\r\n\r\n%s",
                         target, lport, n, (int)getpid (), n, lport, n, target, n, (int)getpid (),
                         n, lport, strlen (sdp), sdp);
  g_autoptr (GError) error = NULL;
  g_assert_cmpint (g_socket_send_to (sock, to, msg, strlen (msg), NULL, &error), ==,
                   (gssize)strlen (msg));
  g_assert_no_error (error);
}

/* The value of header @name in a SIP message (first line only), or NULL. */
static char *
sip_header (const char *msg, const char *name)
{
  g_autofree char *needle = g_strdup_printf ("\r\n%s:", name);
  const char *h = strstr (msg, needle);
  if (h == NULL)
    return NULL;
  h += strlen (needle);
  const char *end = strstr (h, "\r\n");
  return g_strstrip (g_strndup (h, end ? (gsize)(end - h) : strlen (h)));
}

/* The main-loop-lag half of load admission: INVITEs that queued up while
 * the focus was stopped (SIGSTOP, ~2 s) are refused with 503, Retry-After
 * and the "overloaded" Warning once it runs again, none admitted; /healthz
 * keeps answering, and a call after the lag has subsided is admitted. */
static void
test_overload_lag (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) sock
      = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_assert_true (g_socket_bind (sock, any, FALSE, &error));
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (sock, &error);
  guint lport = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  g_autoptr (GSocketConnectable) target = g_network_address_parse (d->sip, 5060, &error);
  g_assert_no_error (error);
  g_autoptr (GSocketAddressEnumerator) en = g_socket_connectable_enumerate (target);
  g_autoptr (GSocketAddress) to = g_socket_address_enumerator_next (en, NULL, &error);
  g_assert_no_error (error);

  GPid pid = (GPid)g_ascii_strtoll (g_subprocess_get_identifier (d->proc), NULL, 10);
  g_assert_cmpint (pid, >, 0);
  enum
  {
    N = 4
  };
  g_assert_cmpint (kill (pid, SIGSTOP), ==, 0);
  for (int i = 0; i < N; i++)
    send_lag_invite (sock, to, d->sip, lport, i);
  /* The stall the loop has to notice: well beyond the 750 ms limit. */
  g_usleep (2 * G_USEC_PER_SEC);
  g_assert_cmpint (kill (pid, SIGCONT), ==, 0);

  gboolean refused[N] = { FALSE };
  int finals = 0;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (finals < N)
    {
      gint64 left = deadline - g_get_monotonic_time ();
      g_assert_cmpint (left, >, 0);
      if (!g_socket_condition_timed_wait (sock, G_IO_IN, left, NULL, NULL))
        continue;
      char buf[8192];
      gssize n = g_socket_receive (sock, buf, sizeof buf - 1, NULL, &error);
      g_assert_no_error (error);
      buf[n] = 0;
      int code = 0;
      if (sscanf (buf, "SIP/2.0 %d", &code) != 1 || code < 200)
        continue;
      g_autofree char *call_id = sip_header (buf, "Call-ID");
      int which = -1;
      g_assert_nonnull (call_id);
      g_assert_cmpint (sscanf (call_id, "lag-%d-", &which), ==, 1);
      g_assert_cmpint (which, >=, 0);
      g_assert_cmpint (which, <, N);
      if (code != 503)
        g_test_message ("queued INVITE %d answered %d:\n%s", which, code, buf);
      g_assert_cmpint (code, ==, 503);
      g_autofree char *retry = sip_header (buf, "Retry-After");
      g_autofree char *warning = sip_header (buf, "Warning");
      g_assert_nonnull (retry);
      g_assert_cmpint (g_ascii_strtoll (retry, NULL, 10), >, 0);
      g_assert_nonnull (warning);
      g_assert_nonnull (strstr (warning, "overloaded"));
      if (refused[which])
        continue; /* a retransmitted 503 */
      refused[which] = TRUE;
      finals++;
      /* ACK the 503 (same branch, the To with the focus's tag). */
      g_autofree char *to_hdr = sip_header (buf, "To");
      g_autofree char *ack = g_strdup_printf (
          "ACK sip:conf@%s SIP/2.0\r\n"
          "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-lag-%d-%d\r\n"
          "From: <sip:lag%d@127.0.0.1:%u>;tag=lag%d\r\n"
          "To: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
          d->sip, lport, which, (int)getpid (), which, lport, which, to_hdr, call_id);
      g_assert_cmpint (g_socket_send_to (sock, to, ack, strlen (ack), NULL, &error), >, 0);
    }
  g_assert_cmpint (admission_rejected (d), >=, N);

  g_autofree char *body = NULL;
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/healthz", &body, NULL), ==, 200);

  /* The lateness decays with every on-time tick: poll until a call gets in. */
  const char *good[] = { "-s", "conf", "-m", "1", "-d", "500", NULL };
  int rc = -1;
  for (int attempt = 0; attempt < 20 && rc != 0; attempt++)
    rc = sip_test_sipp_run (d->sip, "uac-pcmu.xml", 30, 440, good);
  g_assert_cmpint (rc, ==, 0);
  Watch w = { d, 0, 0 };
  g_assert_true (sip_test_wait_until (no_participant, &w, 20000));
  check_daemon_alive_and_stop (d);
}

static gboolean
on_hold (gpointer data)
{
  g_autoptr (json_object) st = sip_test_status (data);
  json_object *conf = sip_test_status_conference (st, CONF), *parts = NULL, *v = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "participants", &parts)
      || json_object_array_length (parts) != 1)
    return FALSE;
  return json_object_object_get_ex (json_object_array_get_idx (parts, 0), "status", &v)
         && g_strcmp0 (json_object_get_string (v), "on-hold") == 0;
}

/* re-INVITE to hold (status on-hold), re-INVITE with a new codec, UPDATE. */
static void
test_hold_and_codec_change (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *extra[] = { "-s", "conf", "-m", "1", "-d", "3000", NULL };
  g_autoptr (SipTestSipp) s = sip_test_sipp_start (d->sip, "reinvite-hold.xml", 30, 0, extra);
  g_assert_true (sip_test_wait_until (on_hold, d, 10000));
  g_assert_cmpint (sip_test_sipp_wait (s, 40000), ==, 0);
  check_daemon_alive_and_stop (d);
}

/* An offerless re-INVITE: the answer in the ACK (sendonly) takes effect. */
static void
test_offerless_reinvite (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *extra[] = { "-s", "conf", "-m", "1", "-d", "4000", NULL };
  g_autoptr (SipTestSipp) s = sip_test_sipp_start (d->sip, "reinvite-offerless.xml", 30, 0, extra);
  g_assert_true (sip_test_wait_until (on_hold, d, 20000));
  g_assert_cmpint (sip_test_sipp_wait (s, 40000), ==, 0);
  check_daemon_alive_and_stop (d);
}

/* A Record-Route already in the INVITE is kept in the 200, under ours. */
static void
test_record_route_copied (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *extra[] = { "-s", "conf", "-m", "1", NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "record-route.xml", 30, 0, extra), ==, 0);
  Watch w = { d, 0, 0 };
  g_assert_true (sip_test_wait_until (no_participant, &w, 20000));
  check_daemon_alive_and_stop (d);
}

/* RFC 4028: the focus confirms and refreshes a session interval, and
 * refuses one below its Min-SE with 422. */
static void
test_session_timer (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *extra[] = { "-s", "conf", "-m", "1", NULL };

  g_assert_cmpint (sip_test_sipp_run (d->sip, "session-timer.xml", 30, 0, extra), ==, 0);
  g_assert_cmpint (sip_test_sipp_run (d->sip, "session-timer-too-small.xml", 30, 0, extra), ==, 0);
  check_daemon_alive_and_stop (d);
}

typedef struct
{
  DiscoTestDaemon *d;
  const char *uri;
} Find;

static gboolean
dialed_out (gpointer data)
{
  Find *f = data;
  g_autoptr (json_object) st = sip_test_status (f->d);
  json_object *conf = sip_test_status_conference (st, CONF), *parts = NULL, *v = NULL;
  if (conf == NULL || !json_object_object_get_ex (conf, "participants", &parts))
    return FALSE;
  for (size_t i = 0; i < json_object_array_length (parts); i++)
    {
      json_object *p = json_object_array_get_idx (parts, i);
      if (json_object_object_get_ex (p, "uri", &v)
          && g_strcmp0 (json_object_get_string (v), f->uri) == 0
          && json_object_object_get_ex (p, "joining_method", &v)
          && g_strcmp0 (json_object_get_string (v), "dialed-out") == 0
          && json_object_object_get_ex (p, "status", &v)
          && g_strcmp0 (json_object_get_string (v), "connected") == 0)
        return TRUE;
    }
  return FALSE;
}

/* RFC 4579 dial-out: a REFER to the conference makes the focus call Bob. */
static void
test_refer_dial_out (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *callee_args[] = { "-m", "1", NULL };
  g_autoptr (SipTestSipp) callee = sip_test_sipp_start ("", "callee.xml", 60, 0, callee_args);
  g_autofree char *bob = g_strdup_printf ("sip:bob@127.0.0.1:%u", callee->port);
  const char *refer_args[] = { "-s", "conf", "-m", "1", "-set", "callee", bob, NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "refer-dial-out.xml", 30, 0, refer_args), ==, 0);
  Find f = { d, bob };
  g_assert_true (sip_test_wait_until (dialed_out, &f, 10000));
  /* Shutting the conference down hangs up on Bob. */
  check_daemon_alive_and_stop (d);
  g_assert_cmpint (sip_test_sipp_wait (callee, 30000), ==, 0);
}

static gboolean
one_participant (gpointer data)
{
  Watch *w = data;
  rtp_seen (w);
  return w->participants == 1;
}

/* INVITE with Replaces for one of our dialogs: new dialog in, old one out. */
static void
test_replaces (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *extra[] = { "-s", "conf", "-m", "1", "-d", "3000", NULL };
  g_autoptr (SipTestSipp) s = sip_test_sipp_start (d->sip, "replaces.xml", 30, 0, extra);
  /* While the caller holds the new dialog only it is in the conference
   * (the scenario itself checks that the focus BYEs the old one). */
  Watch w = { d, 0, 0 };
  g_assert_true (sip_test_wait_until (one_participant, &w, 10000));
  g_assert_cmpint (sip_test_sipp_wait (s, 40000), ==, 0);
  g_assert_true (sip_test_wait_until (no_participant, &w, 20000));
  check_daemon_alive_and_stop (d);
}

/* RFC 4579 §5.11: REFER with Refer-To <victim;method=BYE> removes it. */
static void
test_refer_remove (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn (NULL);
  const char *vargs[] = { "-s", "conf", "-m", "1", NULL };
  g_autoptr (SipTestSipp) victim = sip_test_sipp_start (d->sip, "victim-removed.xml", 90, 0, vargs);
  Watch w = { d, 0, 0 };
  g_assert_true (sip_test_wait_until (one_participant, &w, 20000));
  g_autofree char *uri = g_strdup_printf ("sip:victim1@127.0.0.1:%u", victim->port);
  const char *rargs[] = { "-s", "conf", "-m", "1", "-set", "victim", uri, NULL };
  g_assert_cmpint (sip_test_sipp_run (d->sip, "refer-remove.xml", 30, 0, rargs), ==, 0);
  g_assert_cmpint (sip_test_sipp_wait (victim, 60000), ==, 0);
  Watch none = { d, 0, 0 };
  g_assert_true (sip_test_wait_until (no_participant, &none, 20000));
  check_daemon_alive_and_stop (d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sip/call/pcmu-rtp", test_pcmu_call);
  g_test_add_func ("/sip/call/options", test_options);
  g_test_add_func ("/sip/call/bad-input", test_bad_input);
  g_test_add_func ("/sip/call/malformed-replies", test_malformed_replies);
  g_test_add_func ("/sip/call/unknown-conference-404", test_unknown_conference);
  g_test_add_func ("/sip/call/capacity-503", test_capacity);
  g_test_add_func ("/sip/call/overload-flood", test_overload_flood);
  g_test_add_func ("/sip/call/overload-lag", test_overload_lag);
  g_test_add_func ("/sip/call/hold-codec-update", test_hold_and_codec_change);
  g_test_add_func ("/sip/call/session-timer", test_session_timer);
  g_test_add_func ("/sip/call/offerless-reinvite", test_offerless_reinvite);
  g_test_add_func ("/sip/call/record-route-copied", test_record_route_copied);
  g_test_add_func ("/sip/refer/dial-out", test_refer_dial_out);
  g_test_add_func ("/sip/call/replaces", test_replaces);
  g_test_add_func ("/sip/refer/remove-method-bye", test_refer_remove);
  return g_test_run ();
}
