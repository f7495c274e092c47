/* test-sip-media.c: audio through the focus, end to end over SIP.
 *
 * A real phone (baresip, Opus) joins while a sipp caller streams a 440 Hz
 * PCMU tone: the phone must hear 440 Hz and leave cleanly.  Three phones
 * with different tones: each hears the other two and not itself
 * (mix-minus), which proves the mix goes through SIP/SDP set-up.
 *
 * The same with three sipp callers.  sipp 3.6 cannot record what it
 * receives, and its media port is its own, so the test captures the RTP on
 * the loopback interface with tshark (a filter on the room's port), splits
 * it by caller port, and turns each direction into a mu-law WAV: what a
 * caller sent identifies it by its tone, what it received must hold the
 * other two tones. */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <string.h>

#include "sip-test.h"

#define CONF "sip:conf@127.0.0.1"
/* A frequency no source uses: the noise floor to compare against. */
#define CONTROL_HZ 1330.0

static guint
local_participants (DiscoTestDaemon *d)
{
  g_autoptr (json_object) st = sip_test_status (d);
  json_object *load = NULL, *n = NULL;
  if (st && json_object_object_get_ex (st, "load", &load)
      && json_object_object_get_ex (load, "participants", &n))
    return (guint)json_object_get_int (n);
  return G_MAXUINT;
}

typedef struct
{
  DiscoTestDaemon *d;
  guint want;
} CountWait;

/* The roster settles after a BYE: poll, never assert at once. */
static gboolean
count_is (gpointer data)
{
  CountWait *w = data;
  return local_participants (w->d) == w->want;
}

static void
wait_participants (DiscoTestDaemon *d, guint want)
{
  CountWait w = { d, want };
  if (!sip_test_wait_until (count_is, &w, 30000))
    g_assert_cmpuint (local_participants (d), ==, want);
}

static DiscoTestDaemon *
spawn (void)
{
  g_autoptr (GError) error = NULL;
  const char *args[] = { "--conference=" CONF, NULL };
  DiscoTestDaemon *d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);
  return d;
}

static void
test_baresip_hears_caller (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn ();
  const char *extra[] = { "-s", "conf", "-m", "1", "-d", "10000", NULL };
  g_autoptr (SipTestSipp) caller = sip_test_sipp_start (d->sip, "uac-pcmu.xml", 40, 440, extra);
  g_autoptr (SipTestPhone) phone = sip_test_phone_start (d->sip, "phone", 1000, 6);

  g_assert_cmpint (sip_test_phone_wait (phone, 30000), ==, 0);
  g_autofree char *wav = sip_test_phone_recording (phone);
  g_assert_nonnull (wav);
  double tone = sip_test_tone_power (wav, 440), floor = sip_test_tone_power (wav, CONTROL_HZ);
  g_test_message ("phone heard 440 Hz at %g, control %g", tone, floor);
  g_assert_cmpfloat (tone, >, 20 * floor);
  g_assert_cmpfloat (tone, >, 1e-5);
  /* It hung up: only the sipp caller is left. */
  wait_participants (d, 1);
  g_assert_cmpint (sip_test_sipp_wait (caller, 40000), ==, 0);
  wait_participants (d, 0);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

static void
test_three_phones_mix (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn ();
  static const guint tones[] = { 500, 800, 1100 };
  SipTestPhone *phones[3];
  char user[16];
  for (int i = 0; i < 3; i++)
    {
      g_snprintf (user, sizeof user, "phone%d", i);
      phones[i] = sip_test_phone_start (d->sip, user, tones[i], 8);
    }
  for (int i = 0; i < 3; i++)
    g_assert_cmpint (sip_test_phone_wait (phones[i], 30000), ==, 0);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *wav = sip_test_phone_recording (phones[i]);
      g_assert_nonnull (wav);
      double p[3], floor = sip_test_tone_power (wav, CONTROL_HZ);
      for (int j = 0; j < 3; j++)
        p[j] = sip_test_tone_power (wav, tones[j]);
      g_test_message ("phone %d heard %g / %g / %g, control %g", i, p[0], p[1], p[2], floor);
      for (int j = 0; j < 3; j++)
        if (j != i)
          {
            g_assert_cmpfloat (p[j], >, 20 * floor);
            /* Mix-minus: its own tone is much weaker than the others. */
            g_assert_cmpfloat (p[i], <, p[j] / 10);
          }
    }
  for (int i = 0; i < 3; i++)
    sip_test_phone_free (phones[i]);
  wait_participants (d, 0);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

typedef struct
{
  GSubprocess *proc;
  char *dir;
  char *pcap;
} Capture;

static void
capture_free (Capture *c)
{
  if (c->proc)
    {
      g_subprocess_force_exit (c->proc);
      g_subprocess_wait (c->proc, NULL, NULL);
      g_object_unref (c->proc);
    }
  g_unlink (c->pcap);
  g_rmdir (c->dir);
  g_free (c->pcap);
  g_free (c->dir);
  g_free (c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Capture, capture_free)

/* tshark on lo for UDP to or from @port; returns once it is capturing. */
static Capture *
capture_start (guint port)
{
  g_autoptr (GError) error = NULL;
  Capture *c = g_new0 (Capture, 1);
  c->dir = g_dir_make_tmp ("disco-rtpcap-XXXXXX", &error);
  g_assert_no_error (error);
  c->pcap = g_build_filename (c->dir, "rtp.pcap", NULL);
  g_autofree char *filter = g_strdup_printf ("udp port %u", port);
  c->proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, "tshark", "-i", "lo", "-n", "-q", "-f", filter, "-w", c->pcap,
                              NULL);
  g_assert_no_error (error);
  /* dumpcap says "Capturing on 'Loopback...'" once the filter is set. */
  GDataInputStream *err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (c->proc));
  char *line;
  gboolean capturing = FALSE;
  while (!capturing && (line = g_data_input_stream_read_line (err, NULL, NULL, NULL)))
    {
      capturing = strstr (line, "Capturing on") != NULL;
      if (!capturing)
        g_test_message ("tshark: %s", line);
      g_free (line);
    }
  g_object_unref (err);
  g_assert_true (capturing);
  return c;
}

static void
capture_stop (Capture *c)
{
  /* SIGINT: dumpcap flushes the file and exits. */
  g_subprocess_send_signal (c->proc, SIGINT);
  g_assert_true (g_subprocess_wait (c->proc, NULL, NULL));
  g_clear_object (&c->proc);
}

typedef struct
{
  GByteArray *sent;     /* PCMU payload from the caller to the room */
  GByteArray *received; /* PCMU payload from the room to the caller */
} Flow;

static void
flow_free (Flow *f)
{
  g_byte_array_unref (f->sent);
  g_byte_array_unref (f->received);
  g_free (f);
}

/* caller port -> Flow, from the capture decoded as RTP. */
static GHashTable *
capture_flows (Capture *c, guint room_port)
{
  g_autofree char *decode = g_strdup_printf ("udp.port==%u,rtp", room_port);
  const char *argv[]
      = { "tshark", "-r",         c->pcap,  "-n",          "-d",          decode, "-Y",
          "rtp",    "-T",         "fields", "-e",          "udp.srcport", "-e",   "udp.dstport",
          "-e",     "rtp.p_type", "-e",     "rtp.payload", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_assert_cmpint (disco_test_run (argv, 60000, &out, &err), ==, 0);
  GHashTable *flows = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify)flow_free);
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (char **l = lines; *l; l++)
    {
      g_auto (GStrv) f = g_strsplit (*l, "\t", 4);
      if (g_strv_length (f) < 4 || atoi (f[2]) != 0)
        continue;
      guint src = (guint)atoi (f[0]), dst = (guint)atoi (f[1]);
      gboolean to_room = dst == room_port;
      guint caller = to_room ? src : dst;
      Flow *flow = g_hash_table_lookup (flows, GUINT_TO_POINTER (caller));
      if (flow == NULL)
        {
          flow = g_new0 (Flow, 1);
          flow->sent = g_byte_array_new ();
          flow->received = g_byte_array_new ();
          g_hash_table_insert (flows, GUINT_TO_POINTER (caller), flow);
        }
      GByteArray *into = to_room ? flow->sent : flow->received;
      for (const char *h = f[3]; h[0] && h[1];)
        {
          if (*h == ':')
            {
              h++;
              continue;
            }
          guint8 b = (guint8)((g_ascii_xdigit_value (h[0]) << 4) | g_ascii_xdigit_value (h[1]));
          g_byte_array_append (into, &b, 1);
          h += 2;
        }
    }
  return flows;
}

/* G.711 mu-law to linear (ITU-T G.711, the usual bias-and-shift form). */
static gint16
ulaw_decode (guint8 u)
{
  u = (guint8)~u;
  int t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return (gint16)((u & 0x80) ? (0x84 - t) : (t - 0x84));
}

/* Raw mu-law (8 kHz mono) decoded into a 16-bit PCM WAV file. */
static char *
mulaw_wav (const char *dir, const char *name, GByteArray *data)
{
  guint32 n = data->len * 2;
  GByteArray *all = g_byte_array_sized_new (44 + n);
  guint8 h[44];
  guint32 v;
  guint16 w;
  memcpy (h, "RIFF", 4);
  v = GUINT32_TO_LE (36 + n);
  memcpy (h + 4, &v, 4);
  memcpy (h + 8, "WAVEfmt ", 8);
  v = GUINT32_TO_LE (16);
  memcpy (h + 16, &v, 4);
  w = GUINT16_TO_LE (1); /* PCM */
  memcpy (h + 20, &w, 2);
  memcpy (h + 22, &w, 2); /* mono */
  v = GUINT32_TO_LE (8000);
  memcpy (h + 24, &v, 4);
  v = GUINT32_TO_LE (16000);
  memcpy (h + 28, &v, 4);
  w = GUINT16_TO_LE (2);
  memcpy (h + 32, &w, 2);
  w = GUINT16_TO_LE (16);
  memcpy (h + 34, &w, 2);
  memcpy (h + 36, "data", 4);
  v = GUINT32_TO_LE (n);
  memcpy (h + 40, &v, 4);
  g_byte_array_append (all, h, 44);
  for (guint i = 0; i < data->len; i++)
    {
      gint16 pcm = (gint16)GINT16_TO_LE (ulaw_decode (data->data[i]));
      g_byte_array_append (all, (const guint8 *)&pcm, 2);
    }
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (g_file_set_contents (path, (const char *)all->data, all->len, NULL));
  g_byte_array_unref (all);
  return path;
}

static guint
room_port (DiscoTestDaemon *d)
{
  g_autoptr (json_object) st = sip_test_status (d);
  json_object *conf = sip_test_status_conference (st, CONF), *v = NULL;
  g_assert_true (conf && json_object_object_get_ex (conf, "rtp_port", &v));
  return (guint)json_object_get_int (v);
}

static void
test_three_sipp_callers_mix (void)
{
  g_autoptr (DiscoTestDaemon) d = spawn ();
  guint port = room_port (d);
  g_autoptr (Capture) cap = capture_start (port);
  static const guint tones[] = { 500, 800, 1100 };
  SipTestSipp *callers[3];
  const char *extra[] = { "-s", "conf", "-m", "1", "-d", "8000", NULL };
  for (int i = 0; i < 3; i++)
    callers[i] = sip_test_sipp_start (d->sip, "uac-pcmu.xml", 60, tones[i], extra);
  for (int i = 0; i < 3; i++)
    {
      g_assert_cmpint (sip_test_sipp_wait (callers[i], 60000), ==, 0);
      sip_test_sipp_free (callers[i]);
    }
  capture_stop (cap);

  g_autoptr (GHashTable) flows = capture_flows (cap, port);
  g_assert_cmpuint (g_hash_table_size (flows), ==, 3);
  gboolean seen[3] = { FALSE, FALSE, FALSE };
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, flows);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      Flow *f = v;
      g_assert_cmpuint (f->sent->len, >, 8000);
      g_assert_cmpuint (f->received->len, >, 8000);
      g_autofree char *name_s = g_strdup_printf ("sent-%u.wav", GPOINTER_TO_UINT (k));
      g_autofree char *name_r = g_strdup_printf ("received-%u.wav", GPOINTER_TO_UINT (k));
      g_autofree char *sent = mulaw_wav (cap->dir, name_s, f->sent);
      g_autofree char *recv = mulaw_wav (cap->dir, name_r, f->received);
      /* Which caller is it: the tone it sent. */
      int me = 0;
      double best = 0;
      for (int j = 0; j < 3; j++)
        {
          double p = sip_test_tone_power (sent, tones[j]);
          if (p > best)
            {
              best = p;
              me = j;
            }
        }
      g_assert_false (seen[me]);
      seen[me] = TRUE;
      double p[3], floor = sip_test_tone_power (recv, CONTROL_HZ);
      for (int j = 0; j < 3; j++)
        p[j] = sip_test_tone_power (recv, tones[j]);
      g_test_message ("caller %u Hz (port %u) heard %g / %g / %g, control %g", tones[me],
                      GPOINTER_TO_UINT (k), p[0], p[1], p[2], floor);
      for (int j = 0; j < 3; j++)
        if (j != me)
          {
            g_assert_cmpfloat (p[j], >, 20 * floor);
            g_assert_cmpfloat (p[me], <, p[j] / 10);
          }
      g_unlink (sent);
      g_unlink (recv);
    }
  g_assert_true (seen[0] && seen[1] && seen[2]);
  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 10000), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add_func ("/sip/media/baresip-hears-caller", test_baresip_hears_caller);
  g_test_add_func ("/sip/media/three-phones-mix", test_three_phones_mix);
  g_test_add_func ("/sip/media/three-sipp-callers-mix", test_three_sipp_callers_mix);
  return g_test_run ();
}
