/* bench-room.c: DiscoMediaRoom capacity, CPU, join cost, memory, latency.
 *
 *   bench-room [--n N[,N...]] [--talkers K|all] [--codec opus|pcmu] [--seconds S]
 *              [--warmup S] [--server-cpu C] [--load-cpu C]
 *   bench-room --server        (internal: one room, commands on stdin)
 *
 * The load generator (this process) replays pre-encoded 20 ms RTP frames
 * (talkers: pink noise at about -30 dBFS, others: encoded digital silence,
 * DTX off) from one UDP socket per participant, paced by a timerfd in one
 * epoll loop, and counts what comes back.  The room runs in a child process
 * ("--server") pinned to another core; its CPU is utime+stime from /proc.
 *
 * Latency: participant "marker" sends silence except a 100 ms 2 kHz burst
 * once per second; a silent listener decodes what it receives (libopus) and
 * timestamps the first 20 ms frame whose 2 kHz power jumps.  The difference
 * is the server-added mouth-to-ear latency (loopback, pre-encoded input, so
 * only the room's jitter buffer, mixing and encoding are in it).
 *
 * --janus runs the same load against Debian's Janus AudioBridge 1.1.2
 * (plain-RTP participants, configuration and API calls as in the spec note
 * janus-bench.md), pinned the same way, for a side-by-side comparison.
 */
#define _GNU_SOURCE
#include "disco-media-room.h"
#include "disco-tone.h"

#include <gst/app/gstappsink.h>
#include <json-c/json.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <gst/gst.h>
#include <errno.h>
#include <math.h>
#include <opus.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

/* ------------------------------------------------------------ server */

static GMainLoop *server_loop;

static gboolean
server_command (GIOChannel *ch, GIOCondition cond, gpointer data)
{
  DiscoMediaRoom *room = data;
  g_autofree char *line = NULL;
  g_autoptr (GError) error = NULL;
  if (g_io_channel_read_line (ch, &line, NULL, NULL, NULL) != G_IO_STATUS_NORMAL || line[0] == 'q')
    {
      g_main_loop_quit (server_loop);
      return G_SOURCE_REMOVE;
    }
  g_strchomp (line);
  g_auto (GStrv) f = g_strsplit (line, " ", 0);
  DiscoMediaCodec codec;
  if (f[0] && strcmp (f[0], "stats") == 0)
    {
      DiscoMediaRoomStats s;
      disco_media_room_get_stats (room, &s);
      printf ("stats participants %u encoders %u overruns %" G_GUINT64_FORMAT "\n", s.participants,
              s.encoders_in_use, s.tick_overruns);
    }
  else if (f[0] && strcmp (f[0], "r") == 0 && f[1])
    {
      disco_media_room_remove_participant (room, f[1]);
      printf ("ok\n");
    }
  else if (g_strv_length (f) == 5 && disco_media_codec_from_string (f[2], &codec))
    {
      g_autoptr (GInetSocketAddress) ra = G_INET_SOCKET_ADDRESS (
          g_inet_socket_address_new_from_string ("127.0.0.1", atoi (f[4])));
      DiscoMediaParticipantParams p = { .codec = codec,
                                        .payload_type = (guint8)atoi (f[3]),
                                        .telephone_event_pt = -1,
                                        .remote_rtp = ra,
                                        .ptime_ms = 20,
                                        .send = TRUE,
                                        .recv = TRUE };
      gboolean ok = disco_media_room_add_participant (room, f[1], &p, &error);
      printf ("%s\n", ok ? "ok" : error->message);
    }
  else
    printf ("err syntax\n");
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

static int
server_main (void)
{
  g_autoptr (GError) error = NULL;
  DiscoMediaRoom *room = disco_media_room_new ("bench", "127.0.0.1", &error);
  if (room == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  printf ("ready %u\n", disco_media_room_get_rtp_port (room));
  fflush (stdout);
  server_loop = g_main_loop_new (NULL, FALSE);
  GIOChannel *ch = g_io_channel_unix_new (0);
  g_io_add_watch (ch, G_IO_IN | G_IO_HUP, server_command, room);
  g_main_loop_run (server_loop);
  g_io_channel_unref (ch);
  disco_media_room_free (room);
  g_main_loop_unref (server_loop);
  return 0;
}

/* ------------------------------------------------------------ frames */

/* Pre-encodes one second with the given GStreamer source description. */
static GPtrArray *
encode_frames (const char *src, gboolean opus)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = g_strdup_printf (
      "%s num-buffers=50 ! audio/x-raw,format=S16LE,channels=1,rate=%d ! %s ! appsink name=s "
      "sync=false",
      src, opus ? 48000 : 8000,
      opus ? "opusenc bitrate=32000 audio-type=voice complexity=5 frame-size=20 dtx=false"
           : "mulawenc");
  GstElement *p = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  GstElement *s = gst_bin_get_by_name (GST_BIN (p), "s");
  gst_element_set_state (p, GST_STATE_PLAYING);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify)g_bytes_unref);
  GstSample *sample;
  while ((sample = gst_app_sink_pull_sample (GST_APP_SINK (s))) != NULL)
    {
      GstBuffer *b = gst_sample_get_buffer (sample);
      GstMapInfo m;
      gst_buffer_map (b, &m, GST_MAP_READ);
      g_ptr_array_add (out, g_bytes_new (m.data, m.size));
      gst_buffer_unmap (b, &m);
      gst_sample_unref (sample);
    }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (s);
  gst_object_unref (p);
  g_assert_cmpuint (out->len, >, 0);
  return out;
}

/* ------------------------------------------------------------ generator */

typedef struct
{
  int fd;
  struct sockaddr_in dst; /* where this participant sends */
  guint16 port;
  guint16 seq;
  guint32 ts, ssrc;
  GPtrArray *frames;
  guint64 rx, rx_window;
  gboolean marker;
  guint64 janus_session; /* Janus backend: this participant's session */
} Part;

typedef struct
{
  GSubprocess *proc;
  GDataInputStream *out;
  GOutputStream *in;
  /* Janus backend */
  gboolean janus;
  char *janus_dir;
  SoupSession *http;
} Server;

static char *
server_cmd (Server *s, const char *cmd)
{
  g_autofree char *line = g_strconcat (cmd, "\n", NULL);
  g_output_stream_write_all (s->in, line, strlen (line), NULL, NULL, NULL);
  char *reply = g_data_input_stream_read_line (s->out, NULL, NULL, NULL);
  if (reply == NULL)
    g_error ("room server died");
  return reply;
}

/* utime+stime (s), VmRSS (kB) and thread count of the server process. */
static void
server_proc (Server *s, double *cpu, long *rss, long *threads)
{
  const char *pid = g_subprocess_get_identifier (s->proc);
  g_autofree char *sp = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *tp = g_strdup_printf ("/proc/%s/status", pid);
  g_autofree char *stat = NULL, *status = NULL;
  if (!g_file_get_contents (sp, &stat, NULL, NULL)
      || !g_file_get_contents (tp, &status, NULL, NULL))
    g_error ("server process gone");
  const char *p = strrchr (stat, ')');
  unsigned long ut = 0, st = 0;
  if (p)
    sscanf (p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
  const char *r = strstr (status, "VmRSS:");
  const char *t = strstr (status, "Threads:");
  *cpu = (double)(ut + st) / sysconf (_SC_CLK_TCK);
  *rss = r ? strtol (r + 6, NULL, 10) : 0;
  *threads = t ? strtol (t + 8, NULL, 10) : 0;
}

static void
pin_cpu (int cpu)
{
  if (cpu < 0)
    return;
  cpu_set_t set;
  CPU_ZERO (&set);
  CPU_SET (cpu, &set);
  sched_setaffinity (0, sizeof set, &set);
}

static int server_cpu_arg = 1;

static void
child_setup (gpointer data)
{
  pin_cpu (server_cpu_arg);
}

/* ------------------------------------------------------------ Janus */

/* Configuration exactly as in docs janus-bench.md section 3. */
static const char janus_core_cfg[]
    = "general: {\n configs_folder = \"%s\"\n"
      " plugins_folder = \"/usr/lib/x86_64-linux-gnu/janus/plugins\"\n"
      " transports_folder = \"/usr/lib/x86_64-linux-gnu/janus/transports\"\n"
      " events_folder = \"/usr/lib/x86_64-linux-gnu/janus/events\"\n"
      " loggers_folder = \"/usr/lib/x86_64-linux-gnu/janus/loggers\"\n"
      " debug_level = 4\n server_name = \"janusbench\"\n interface = \"127.0.0.1\"\n"
      " session_timeout = 0\n hide_dependencies = true\n}\n"
      "certificates: {\n}\nmedia: {\n rtp_port_range = \"20000-20999\"\n}\n"
      "nat: {\n nice_debug = false\n ice_enforce_list = \"lo\"\n ignore_mdns = true\n}\n"
      "plugins: {\n disable = \"libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,"
      "libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,"
      "libjanus_textroom.so,libjanus_videocall.so,libjanus_videoroom.so,libjanus_voicemail.so\"\n}"
      "\n"
      "transports: {\n disable = \"libjanus_websockets.so,libjanus_pfunix.so,libjanus_mqtt.so,"
      "libjanus_nanomsg.so,libjanus_rabbitmq.so\"\n}\n"
      "loggers: {\n disable = \"libjanus_jsonlog.so\"\n}\n"
      "events: {\n broadcast = false\n disable = \"libjanus_gelfevh.so,libjanus_mqttevh.so,"
      "libjanus_nanomsgevh.so,libjanus_rabbitmqevh.so,libjanus_sampleevh.so,libjanus_wsevh.so\"\n}"
      "\n";
static const char janus_http_cfg[]
    = "general: {\n events = false\n json = \"compact\"\n base_path = \"/janus\"\n http = true\n"
      " port = 18088\n ip = \"127.0.0.1\"\n https = false\n acl = \"127.\"\n}\n"
      "admin: {\n admin_http = false\n admin_https = false\n}\ncors: {\n}\ncertificates: {\n}\n";
static const char janus_ab_cfg[]
    = "general: {\n events = false\n rtp_port_range = \"30000-39998\"\n"
      " local_ip = \"127.0.0.1\"\n}\n";

/* POST (@body != NULL) or GET to the Janus HTTP API; returns parsed JSON or NULL. */
static json_object *
janus_http (Server *s, const char *path, json_object *body)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:18088/janus%s", path);
  g_autoptr (SoupMessage) msg = soup_message_new (body ? "POST" : "GET", url);
  if (body)
    {
      const char *txt = json_object_to_json_string (body);
      g_autoptr (GBytes) b = g_bytes_new (txt, strlen (txt));
      soup_message_set_request_body_from_bytes (msg, "application/json", b);
      json_object_put (body);
    }
  g_autoptr (GBytes) reply = soup_session_send_and_read (s->http, msg, NULL, NULL);
  if (reply == NULL || soup_message_get_status (msg) != 200)
    return NULL;
  g_autofree char *txt = g_strndup (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply));
  return json_tokener_parse (txt);
}

static guint64
janus_id (json_object *o)
{
  json_object *data, *id;
  if (o && json_object_object_get_ex (o, "data", &data)
      && json_object_object_get_ex (data, "id", &id))
    return (guint64)json_object_get_int64 (id);
  return 0;
}

static json_object *
janus_req (const char *verb)
{
  json_object *o = json_object_new_object ();
  json_object_object_add (o, "janus", json_object_new_string (verb));
  json_object_object_add (o, "transaction", json_object_new_string ("t"));
  return o;
}

/* New session + audiobridge handle; returns the path "/SESSION/HANDLE". */
static char *
janus_attach (Server *s, guint64 *session)
{
  json_object *r = janus_http (s, "", janus_req ("create"));
  *session = janus_id (r);
  json_object_put (r);
  if (*session == 0)
    return NULL;
  g_autofree char *sp = g_strdup_printf ("/%" G_GUINT64_FORMAT, *session);
  json_object *a = janus_req ("attach");
  json_object_object_add (a, "plugin", json_object_new_string ("janus.plugin.audiobridge"));
  r = janus_http (s, sp, a);
  guint64 h = janus_id (r);
  json_object_put (r);
  return h ? g_strdup_printf ("%s/%" G_GUINT64_FORMAT, sp, h) : NULL;
}

static json_object *
janus_message (json_object *body)
{
  json_object *m = janus_req ("message");
  json_object_object_add (m, "body", body);
  return m;
}

static gboolean
janus_start (Server *s)
{
  g_autoptr (GError) error = NULL;
  s->janus_dir = g_dir_make_tmp ("janusbench-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *core = g_strdup_printf (janus_core_cfg, s->janus_dir);
  g_autofree char *f1 = g_build_filename (s->janus_dir, "janus.jcfg", NULL);
  g_autofree char *f2 = g_build_filename (s->janus_dir, "janus.transport.http.jcfg", NULL);
  g_autofree char *f3 = g_build_filename (s->janus_dir, "janus.plugin.audiobridge.jcfg", NULL);
  g_autofree char *log = g_build_filename (s->janus_dir, "janus.log", NULL);
  g_file_set_contents (f1, core, -1, NULL);
  g_file_set_contents (f2, janus_http_cfg, -1, NULL);
  g_file_set_contents (f3, janus_ab_cfg, -1, NULL);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (l, child_setup, NULL, NULL);
  s->proc = g_subprocess_launcher_spawn (l, &error, "/usr/bin/janus", "-C", f1, "-F", s->janus_dir,
                                         "-L", log, "-N", NULL);
  g_assert_no_error (error);
  s->http = soup_session_new ();
  for (guint i = 0; i < 100; i++)
    {
      g_usleep (100000);
      json_object *r = janus_http (s, "/info", NULL);
      if (r)
        {
          json_object_put (r);
          break;
        }
    }
  guint64 session;
  g_autofree char *ctl = janus_attach (s, &session);
  if (ctl == NULL)
    return FALSE;
  json_object *b = json_object_new_object ();
  json_object_object_add (b, "request", json_object_new_string ("create"));
  json_object_object_add (b, "room", json_object_new_int (4242));
  json_object_object_add (b, "sampling_rate", json_object_new_int (48000));
  json_object_object_add (b, "spatial_audio", json_object_new_boolean (FALSE));
  json_object_object_add (b, "allow_rtp_participants", json_object_new_boolean (TRUE));
  json_object_object_add (b, "permanent", json_object_new_boolean (FALSE));
  json_object *r = janus_http (s, ctl, janus_message (b));
  gboolean ok = r != NULL;
  json_object_put (r);
  return ok;
}

/* Joins participant @i whose socket is bound to @port; fills @dst with
 * Janus's port for it and connects nothing (Janus connects its side). */
static gboolean
janus_join (Server *s, guint i, guint16 port, gboolean opus, struct sockaddr_in *dst,
            guint64 *session_out)
{
  guint64 session;
  g_autofree char *h = janus_attach (s, &session);
  *session_out = session;
  if (h == NULL)
    return FALSE;
  json_object *rtp = json_object_new_object ();
  json_object_object_add (rtp, "ip", json_object_new_string ("127.0.0.1"));
  json_object_object_add (rtp, "port", json_object_new_int (port));
  json_object_object_add (rtp, "payload_type", json_object_new_int (opus ? 111 : 0));
  json_object_object_add (rtp, "fec", json_object_new_boolean (FALSE));
  json_object *b = json_object_new_object ();
  json_object_object_add (b, "request", json_object_new_string ("join"));
  json_object_object_add (b, "room", json_object_new_int (4242));
  json_object_object_add (b, "id", json_object_new_int (1000 + (int)i));
  json_object_object_add (b, "codec", json_object_new_string (opus ? "opus" : "pcmu"));
  json_object_object_add (b, "rtp", rtp);
  json_object_put (janus_http (s, h, janus_message (b)));
  g_autofree char *poll = g_strdup_printf ("/%" G_GUINT64_FORMAT "?maxev=1", session);
  for (guint tries = 0; tries < 10; tries++)
    {
      json_object *ev = janus_http (s, poll, NULL);
      json_object *pd, *data, *jr, *jp;
      if (ev && json_object_object_get_ex (ev, "plugindata", &pd)
          && json_object_object_get_ex (pd, "data", &data)
          && json_object_object_get_ex (data, "rtp", &jr)
          && json_object_object_get_ex (jr, "port", &jp))
        {
          dst->sin_family = AF_INET;
          dst->sin_port = htons ((guint16)json_object_get_int (jp));
          inet_pton (AF_INET, "127.0.0.1", &dst->sin_addr);
          json_object_put (ev);
          return TRUE;
        }
      json_object_put (ev);
    }
  return FALSE;
}

static gint64
now_us (void)
{
  return g_get_monotonic_time ();
}

static void
send_frame (Part *p, struct sockaddr_in *dst, gboolean opus, guint idx, const guint8 pt)
{
  GBytes *f = g_ptr_array_index (p->frames, idx % p->frames->len);
  gsize n;
  const guint8 *d = g_bytes_get_data (f, &n);
  guint8 pkt[1500];
  if (n + 12 > sizeof pkt)
    return;
  pkt[0] = 0x80;
  pkt[1] = pt;
  pkt[2] = p->seq >> 8;
  pkt[3] = p->seq & 0xff;
  pkt[4] = p->ts >> 24;
  pkt[5] = p->ts >> 16;
  pkt[6] = p->ts >> 8;
  pkt[7] = p->ts;
  pkt[8] = p->ssrc >> 24;
  pkt[9] = p->ssrc >> 16;
  pkt[10] = p->ssrc >> 8;
  pkt[11] = p->ssrc;
  memcpy (pkt + 12, d, n);
  p->seq++;
  p->ts += opus ? 960 : 160;
  sendto (p->fd, pkt, n + 12, 0, (struct sockaddr *)dst, sizeof *dst);
}

typedef struct
{
  guint n, talkers;
  gboolean opus, janus;
  double seconds, warmup;
} RunCfg;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Janus queues O(N^2) join/setup notifications per session; fetch and
 * discard them before the window (janus-bench.md section 4). */
static void
janus_drain (Server *s, Part *parts, guint np)
{
  for (guint i = 0; i < np; i++)
    {
      g_autofree char *poll
          = g_strdup_printf ("/%" G_GUINT64_FORMAT "?maxev=100000", parts[i].janus_session);
      json_object_put (janus_http (s, poll, NULL));
    }
}

/* Returns the server's CPU in % of one core over the window. */
static double
run_one (const RunCfg *cfg, GPtrArray *talk, GPtrArray *silence, GPtrArray *marker)
{
  g_autoptr (GError) error = NULL;
  Server srv = { .janus = cfg->janus };
  struct sockaddr_in dst = { .sin_family = AF_INET };
  inet_pton (AF_INET, "127.0.0.1", &dst.sin_addr);
  if (cfg->janus)
    {
      if (!janus_start (&srv))
        g_error ("janus did not start");
    }
  else
    {
      g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (
          G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
      g_subprocess_launcher_set_child_setup (l, child_setup, NULL, NULL);
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
      srv.proc = g_subprocess_launcher_spawn (l, &error, self, "--server", NULL);
      g_assert_no_error (error);
      srv.out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (srv.proc));
      srv.in = g_subprocess_get_stdin_pipe (srv.proc);
      g_autofree char *ready = g_data_input_stream_read_line (srv.out, NULL, NULL, NULL);
      g_assert_true (ready && g_str_has_prefix (ready, "ready "));
      dst.sin_port = htons (atoi (ready + 6));
    }

  /* participants: [0, talkers) talk, [talkers] is the marker, the last one
   * is the latency listener (silent), the rest are silent. */
  guint n = cfg->n, np = n;
  guint marker_idx = MIN (cfg->talkers, n - 2), listener_idx = n - 1;
  Part *parts = g_new0 (Part, np);
  int ep = epoll_create1 (0);
  for (guint i = 0; i < np; i++)
    {
      Part *p = &parts[i];
      p->fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      struct sockaddr_in a = { .sin_family = AF_INET };
      inet_pton (AF_INET, "127.0.0.1", &a.sin_addr);
      bind (p->fd, (struct sockaddr *)&a, sizeof a);
      socklen_t al = sizeof a;
      getsockname (p->fd, (struct sockaddr *)&a, &al);
      p->port = ntohs (a.sin_port);
      p->ssrc = g_random_int ();
      p->frames = i == marker_idx ? silence : i < cfg->talkers ? talk : silence;
      p->marker = i == marker_idx;
      p->dst = dst;
      struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
      epoll_ctl (ep, EPOLL_CTL_ADD, p->fd, &ev);
    }

  double cpu0, cpu1, cpu2, cpu3;
  long rss0, rss1, rss2, thr0, thr1, thr2;
  server_proc (&srv, &cpu0, &rss0, &thr0);
  gint64 t0 = now_us ();
  for (guint i = 0; i < np; i++)
    {
      if (cfg->janus)
        {
          if (!janus_join (&srv, i, parts[i].port, cfg->opus, &parts[i].dst,
                           &parts[i].janus_session))
            g_error ("janus join %u failed", i);
          continue;
        }
      g_autofree char *cmd = g_strdup_printf ("p p%u %s %u %u", i, cfg->opus ? "OPUS" : "PCMU",
                                              cfg->opus ? 111 : 0, parts[i].port);
      g_autofree char *r = server_cmd (&srv, cmd);
      if (strcmp (r, "ok") != 0)
        g_error ("join %u failed: %s", i, r);
    }
  gint64 t1 = now_us ();
  server_proc (&srv, &cpu1, &rss1, &thr1);

  OpusDecoder *dec = cfg->opus ? opus_decoder_create (48000, 1, NULL) : NULL;
  int tfd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct itimerspec its = { .it_interval = { 0, 20000000 }, .it_value = { 0, 20000000 } };
  timerfd_settime (tfd, 0, &its, NULL);
  struct epoll_event tev = { .events = EPOLLIN, .data.u32 = G_MAXUINT32 };
  epoll_ctl (ep, EPOLL_CTL_ADD, tfd, &tev);

  guint64 tick = 0, late_sends = 0;
  gint64 start = now_us (), window_start = 0,
         end = start + (gint64)((cfg->warmup + cfg->seconds) * 1e6);
  gint64 marker_sent = 0, next_tick_due = start + 20000;
  gboolean in_window = FALSE, drained = !cfg->janus;
  GArray *lat = g_array_new (FALSE, FALSE, sizeof (double));
  double avg_power = 0;
  gboolean marker_seen = TRUE;
  opus_int16 pcm[5760];
  guint8 buf[1500];
  while (now_us () < end)
    {
      struct epoll_event evs[64];
      int k = epoll_wait (ep, evs, 64, 5);
      for (int e = 0; e < k; e++)
        {
          guint32 id = evs[e].data.u32;
          if (id == G_MAXUINT32)
            {
              guint64 exp;
              if (read (tfd, &exp, sizeof exp) != sizeof exp)
                continue;
              if (now_us () > next_tick_due + 2000)
                late_sends++;
              next_tick_due += 20000 * (gint64)exp;
              /* marker burst: 5 frames starting at each whole second */
              guint in_sec = tick % 50;
              for (guint i = 0; i < np; i++)
                {
                  Part *p = &parts[i];
                  if (p->marker && in_sec < 5)
                    {
                      p->frames = marker;
                      if (in_sec == 0)
                        {
                          marker_sent = now_us ();
                          marker_seen = FALSE;
                        }
                    }
                  else if (p->marker)
                    p->frames = silence;
                  send_frame (p, &p->dst, cfg->opus, (guint)tick, cfg->opus ? 111 : 0);
                }
              tick++;
              if (!drained && now_us () - start >= MIN (5.0, cfg->warmup / 2) * 1e6)
                {
                  janus_drain (&srv, parts, np);
                  drained = TRUE;
                }
              if (!in_window && now_us () - start >= cfg->warmup * 1e6)
                {
                  in_window = TRUE;
                  window_start = now_us ();
                  server_proc (&srv, &cpu2, &rss2, &thr2);
                  for (guint i = 0; i < np; i++)
                    parts[i].rx_window = 0;
                }
              continue;
            }
          Part *p = &parts[id];
          ssize_t got;
          while ((got = recv (p->fd, buf, sizeof buf, 0)) > 0)
            {
              p->rx++;
              p->rx_window++;
              if (id != listener_idx || dec == NULL || got <= 12)
                continue;
              int ns = opus_decode (dec, buf + 12, (opus_int32)got - 12, pcm, 5760, 0);
              if (ns <= 0)
                continue;
              double pw = disco_tone_power (pcm, ns, 48000, 2000);
              if (!marker_seen && marker_sent && pw > 100.0 * (avg_power + 1.0))
                {
                  marker_seen = TRUE;
                  double ms = (now_us () - marker_sent) / 1000.0;
                  if (in_window)
                    g_array_append_val (lat, ms);
                }
              else
                avg_power = 0.9 * avg_power + 0.1 * pw;
            }
        }
    }
  double wsecs = (now_us () - window_start) / 1e6;
  server_proc (&srv, &cpu3, &rss2, &thr2);
  g_autofree char *stats = cfg->janus ? g_strdup ("janus") : server_cmd (&srv, "stats");

  guint64 rx_min = G_MAXUINT64, rx_sum = 0;
  for (guint i = 0; i < np; i++)
    {
      rx_min = MIN (rx_min, parts[i].rx_window);
      rx_sum += parts[i].rx_window;
    }
  double cpu_pct = 100.0 * (cpu3 - cpu2) / wsecs;
  double p50 = 0, p99 = 0;
  if (lat->len > 0)
    {
      qsort (lat->data, lat->len, sizeof (double), cmp_double);
      p50 = g_array_index (lat, double, lat->len / 2);
      p99 = g_array_index (lat, double, MIN (lat->len - 1, (guint)(lat->len * 0.99)));
    }
  printf ("%-10s N=%-4u talkers=%-4u cpu=%6.1f%% per-participant=%.3f%% rx/s/participant "
          "mean=%.1f min=%.1f | join %.2f ms wall, %.2f ms cpu | rss %ld MB, +%.0f kB/participant, "
          "threads %ld | latency p50 %.0f ms p99 %.0f ms (%u markers) | %s | late sends "
          "%" G_GUINT64_FORMAT "\n",
          cfg->janus  ? (cfg->opus ? "JANUS-OPUS" : "JANUS-PCMU")
          : cfg->opus ? "OPUS"
                      : "PCMU",
          n, MIN (cfg->talkers, n), cpu_pct, cpu_pct / n, rx_sum / (double)np / wsecs,
          rx_min / wsecs, (t1 - t0) / 1000.0 / np, (cpu1 - cpu0) * 1000.0 / np, rss2 / 1024,
          (rss2 - rss0) / (double)np, thr2, p50, p99, lat->len, stats, late_sends);
  fflush (stdout);

  if (cfg->janus)
    {
      g_subprocess_send_signal (srv.proc, SIGTERM);
      g_subprocess_wait (srv.proc, NULL, NULL);
      g_object_unref (srv.http);
      g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", srv.janus_dir);
      if (system (rm) != 0)
        g_warning ("could not remove %s", srv.janus_dir);
      g_free (srv.janus_dir);
    }
  else
    {
      g_output_stream_write_all (srv.in, "q\n", 2, NULL, NULL, NULL);
      g_subprocess_wait (srv.proc, NULL, NULL);
      g_object_unref (srv.out);
    }
  g_object_unref (srv.proc);
  for (guint i = 0; i < np; i++)
    close (parts[i].fd);
  close (tfd);
  close (ep);
  if (dec)
    opus_decoder_destroy (dec);
  g_array_unref (lat);
  g_free (parts);
  return cpu_pct;
}

int
main (int argc, char **argv)
{
  if (argc == 2 && strcmp (argv[1], "--server") == 0)
    return server_main ();

  g_autofree char *ns = g_strdup ("10,50,100,200");
  g_autofree char *talkers = g_strdup ("3");
  g_autofree char *codec = g_strdup ("opus");
  double seconds = 10, warmup = 4;
  int load_cpu = 0;
  gboolean janus = FALSE, compare = FALSE;
  GOptionEntry entries[] = {
    { "n", 0, 0, G_OPTION_ARG_STRING, &ns, "participant counts, comma separated", "N,.." },
    { "talkers", 0, 0, G_OPTION_ARG_STRING, &talkers, "talkers (a number or 'all')", "K" },
    { "codec", 0, 0, G_OPTION_ARG_STRING, &codec, "opus or pcmu", "C" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "measurement window", "S" },
    { "warmup", 0, 0, G_OPTION_ARG_DOUBLE, &warmup, "warm-up before the window", "S" },
    { "server-cpu", 0, 0, G_OPTION_ARG_INT, &server_cpu_arg, "core for the room (-1: any)", "C" },
    { "load-cpu", 0, 0, G_OPTION_ARG_INT, &load_cpu, "core for the generator (-1: any)", "C" },
    { "janus", 0, 0, G_OPTION_ARG_NONE, &janus,
      "measure Janus AudioBridge (/usr/bin/janus) instead", NULL },
    { "compare-janus", 0, 0, G_OPTION_ARG_NONE, &compare,
      "per N: the room, then Janus with the same load, and the CPU ratio (skipped if "
      "/usr/bin/janus is missing)",
      NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- DiscoMediaRoom load benchmark");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "%s\n", error->message);
      return 2;
    }
  gst_init (NULL, NULL);
  pin_cpu (load_cpu);
  gboolean opus = g_ascii_strcasecmp (codec, "pcmu") != 0;
  g_autoptr (GPtrArray) talk
      = encode_frames (opus ? "audiotestsrc wave=pink-noise volume=0.1 samplesperbuffer=960"
                            : "audiotestsrc wave=pink-noise volume=0.1 samplesperbuffer=160",
                       opus);
  g_autoptr (GPtrArray) silence
      = encode_frames (opus ? "audiotestsrc wave=silence samplesperbuffer=960"
                            : "audiotestsrc wave=silence samplesperbuffer=160",
                       opus);
  g_autoptr (GPtrArray) marker
      = encode_frames (opus ? "audiotestsrc wave=sine freq=2000 volume=0.5 samplesperbuffer=960"
                            : "audiotestsrc wave=sine freq=2000 volume=0.5 samplesperbuffer=160",
                       opus);
  printf ("# bench-room: %s, talkers=%s, window %.0f s after %.0f s warm-up, room on cpu %d, "
          "generator on cpu %d\n",
          opus ? "Opus 48 kHz 20 ms (room encoder c5 48 kb/s generic)" : "PCMU 20 ms", talkers,
          seconds, warmup, server_cpu_arg, load_cpu);
  g_auto (GStrv) list = g_strsplit (ns, ",", 0);
  for (guint i = 0; list[i]; i++)
    {
      RunCfg cfg = { .n = (guint)atoi (list[i]),
                     .opus = opus,
                     .janus = janus,
                     .seconds = seconds,
                     .warmup = warmup };
      if (cfg.n < 3)
        continue;
      cfg.talkers = g_strcmp0 (talkers, "all") == 0 ? cfg.n : (guint)atoi (talkers);
      double ours = run_one (&cfg, talk, silence, marker);
      if (compare && !janus)
        {
          if (!g_file_test ("/usr/bin/janus", G_FILE_TEST_IS_EXECUTABLE))
            {
              printf ("# no /usr/bin/janus: comparison skipped (apt-get install janus)\n");
              continue;
            }
          cfg.janus = TRUE;
          double theirs = run_one (&cfg, talk, silence, marker);
          /* No CPU in the window means Janus never took the load (it fell
           * over during the joins): there is nothing to compare with.  At
           * a full core it is saturated, so its real cost is higher. */
          if (theirs <= 0.0)
            printf ("RATIO      N=%-4u talkers=%-4u n/a: Janus used no CPU in the window (it did "
                    "not take the load)\n",
                    cfg.n, MIN (cfg.talkers, cfg.n));
          else
            printf ("RATIO      N=%-4u talkers=%-4u room/janus CPU = %.3f%s (room %.1f%%, janus "
                    "%.1f%%; room %.4f%% vs janus %.4f%% per participant)\n",
                    cfg.n, MIN (cfg.talkers, cfg.n), ours / theirs,
                    theirs > 95.0 ? " or less: Janus saturated its core" : "", ours, theirs,
                    ours / cfg.n, theirs / cfg.n);
          fflush (stdout);
        }
    }
  return 0;
}
