/* sip-test.c: see sip-test.h. */
#include <errno.h>

#include "sip-test.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <math.h>
#include <unistd.h>

static gboolean
port_free (guint port)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) sa = g_inet_socket_address_new (lo, port);
  for (int t = 0; t < 2; t++)
    {
      g_autoptr (GSocket) s
          = g_socket_new (G_SOCKET_FAMILY_IPV4, t ? G_SOCKET_TYPE_STREAM : G_SOCKET_TYPE_DATAGRAM,
                          t ? G_SOCKET_PROTOCOL_TCP : G_SOCKET_PROTOCOL_UDP, NULL);
      if (s == NULL || !g_socket_bind (s, sa, FALSE, NULL))
        return FALSE;
    }
  return TRUE;
}

guint
sip_test_free_port (guint span)
{
  for (int attempt = 0; attempt < 200; attempt++)
    {
      /* Let the kernel pick, then check the neighbours sipp will use. */
      g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
      g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
      g_assert_nonnull (s);
      g_assert_true (g_socket_bind (s, any, FALSE, NULL));
      g_autoptr (GSocketAddress) local = g_socket_get_local_address (s, NULL);
      guint base = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
      g_socket_close (s, NULL);
      if (base + span > 65535)
        continue;
      /* Ports handed out earlier may not be bound yet (sipp binds its media
       * ports late), so never hand one out twice in a process. */
      static GHashTable *given;
      if (given == NULL)
        given = g_hash_table_new (NULL, NULL);
      gboolean ok = TRUE;
      for (guint i = 0; i < MAX (span, 1) && ok; i++)
        ok = !g_hash_table_contains (given, GUINT_TO_POINTER (base + i)) && port_free (base + i);
      if (ok)
        {
          for (guint i = 0; i < MAX (span, 1); i++)
            g_hash_table_add (given, GUINT_TO_POINTER (base + i));
          return base;
        }
    }
  g_error ("no free port range of %u", span);
  return 0;
}

/* sipp's -mp and what [auto_media_port] walks through (sipp 3.6:
 * mp + 4 * (call - 1), modulo 10000): taken BELOW the ephemeral range
 * (32768+ on Linux), so that no socket the kernel hands out elsewhere (the
 * daemon's media rooms, other tests) lands in the middle of it.  Each range
 * is checked free, and never handed out twice in one process. */
static guint
media_port (guint calls)
{
  guint span = MIN (4 * MAX (calls, 1u), 10000u) + 4;
  static GHashTable *given;
  if (given == NULL)
    given = g_hash_table_new (NULL, NULL);
  for (int attempt = 0; attempt < 500; attempt++)
    {
      /* Even, in 10000..32766-span; the pid spreads parallel tests apart. */
      guint room = (32766 - span - 10000) / 2;
      guint base
          = 10000 + 2 * ((g_random_int_range (0, (gint32)room) + (guint)getpid () * 7) % room);
      gboolean ok = TRUE;
      /* The even ones: RTP (the odd RTCP ports follow them). */
      for (guint i = 0; i < span && ok; i += 2)
        ok = !g_hash_table_contains (given, GUINT_TO_POINTER (base + i)) && port_free (base + i);
      if (ok)
        {
          for (guint i = 0; i < span; i += 2)
            g_hash_table_add (given, GUINT_TO_POINTER (base + i));
          return base;
        }
    }
  g_error ("no free media port range of %u below the ephemeral ports", span);
  return 0;
}

char *
sip_test_scenario (const char *name)
{
  return g_build_filename (g_getenv ("DISCO_SOURCE_DIR"), "tests", "sip", name, NULL);
}

SipTestSipp *
sip_test_sipp_start (const char *target, const char *scenario, guint timeout_s, guint tone_hz,
                     const char *const *extra)
{
  SipTestSipp *s = g_new0 (SipTestSipp, 1);
  g_autoptr (GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  s->dir = g_dir_make_tmp ("disco-sipp-XXXXXX", &error);
  g_assert_no_error (error);
  /* sipp's pcap play looks for pcap/<file> relative to its cwd. */
  g_autofree char *pcap = g_build_filename (s->dir, "pcap", NULL);
  g_assert_cmpint (symlink ("/usr/share/sip-tester", pcap), ==, 0);
  if (tone_hz)
    {
      g_autofree char *tone = g_build_filename (s->dir, "tone.pcmu", NULL);
      sip_test_write_pcmu_tone (tone, tone_hz, 2);
    }

  s->port = sip_test_free_port (1);
  guint calls = 1;
  for (const char *const *a = extra; a && a[0] && a[1]; a++)
    if (g_str_equal (a[0], "-m"))
      calls = (guint)atoi (a[1]);
  guint media = media_port (calls);
  guint control = sip_test_free_port (1);
  g_ptr_array_add (argv, g_strdup ("sipp"));
  if (target && *target) /* none for a server scenario */
    g_ptr_array_add (argv, g_strdup (target));
  if (g_str_has_prefix (scenario, "-sn"))
    {
      g_ptr_array_add (argv, g_strdup ("-sn"));
      g_ptr_array_add (argv, g_strdup (scenario + 4));
    }
  else
    {
      g_ptr_array_add (argv, g_strdup ("-sf"));
      g_ptr_array_add (argv, sip_test_scenario (scenario));
    }
  const char *fixed[]
      = { "-i",       "127.0.0.1",      "-mi",        "127.0.0.1",     "-ci", "127.0.0.1",
          "-nostdin", "-timeout_error", "-trace_err", "-trace_screen", NULL };
  for (const char *const *a = fixed; *a; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, g_strdup ("-p"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", s->port));
  g_ptr_array_add (argv, g_strdup ("-mp"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", media));
  g_ptr_array_add (argv, g_strdup ("-cp"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", control));
  g_ptr_array_add (argv, g_strdup ("-timeout"));
  g_ptr_array_add (argv, g_strdup_printf ("%us", timeout_s));
  for (const char *const *a = extra; a && *a; a++)
    g_ptr_array_add (argv, g_strdup (*a));
  g_ptr_array_add (argv, NULL);

  g_autofree char *cmd = g_strjoinv (" ", (char **)argv->pdata);
  g_test_message ("running (in %s): %s", s->dir, cmd);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                                 | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_cwd (l, s->dir);
  s->proc = g_subprocess_launcher_spawnv (l, (const char *const *)argv->pdata, &error);
  g_assert_no_error (error);
  return s;
}

static void
log_sipp_files (SipTestSipp *s)
{
  g_autoptr (GDir) dir = g_dir_open (s->dir, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, "_errors.log") || g_str_has_suffix (name, "_screen.log"))
      {
        g_autofree char *path = g_build_filename (s->dir, name, NULL);
        g_autofree char *text = NULL;
        if (g_file_get_contents (path, &text, NULL, NULL))
          g_test_message ("--- %s:\n%.6000s", name, text);
      }
}

static void
wait_cb (GObject *src, GAsyncResult *res, gpointer data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (src), res, NULL);
  *(gboolean *)data = TRUE;
}

int
sip_test_sipp_wait (SipTestSipp *s, guint timeout_ms)
{
  gboolean done = FALSE;
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  g_subprocess_wait_async (s->proc, NULL, wait_cb, &done);
  while (!done && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (5000);
  if (!done)
    {
      g_test_message ("sipp did not finish in %u ms; killing it", timeout_ms);
      g_subprocess_force_exit (s->proc);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
      log_sipp_files (s);
      return -1;
    }
  int rc = g_subprocess_get_if_exited (s->proc) ? g_subprocess_get_exit_status (s->proc) : -1;
  if (rc != 0)
    log_sipp_files (s);
  return rc;
}

static void
rm_rf (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        rm_rf (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

void
sip_test_sipp_free (SipTestSipp *s)
{
  if (s == NULL)
    return;
  if (s->proc)
    {
      if (g_subprocess_get_identifier (s->proc))
        {
          g_subprocess_force_exit (s->proc);
          g_subprocess_wait (s->proc, NULL, NULL);
        }
      g_object_unref (s->proc);
    }
  if (s->dir)
    rm_rf (s->dir);
  g_free (s->dir);
  g_free (s);
}

int
sip_test_sipp_run (const char *target, const char *scenario, guint timeout_s, guint tone_hz,
                   const char *const *extra)
{
  g_autoptr (SipTestSipp) s = sip_test_sipp_start (target, scenario, timeout_s, tone_hz, extra);
  return sip_test_sipp_wait (s, (timeout_s + 10) * 1000);
}

json_object *
sip_test_status (DiscoTestDaemon *d)
{
  g_autofree char *body = NULL;
  if (disco_test_http (d->http, "GET", "/api/status", &body, NULL) != 200)
    return NULL;
  return json_tokener_parse (body);
}

json_object *
sip_test_status_conference (json_object *status, const char *uri)
{
  json_object *confs = NULL;
  if (status == NULL || !json_object_object_get_ex (status, "conferences", &confs))
    return NULL;
  for (size_t i = 0; i < json_object_array_length (confs); i++)
    {
      json_object *c = json_object_array_get_idx (confs, i);
      json_object *u = NULL;
      if (json_object_object_get_ex (c, "uri", &u)
          && g_strcmp0 (json_object_get_string (u), uri) == 0)
        return c;
    }
  return NULL;
}

void
sip_test_write_pcmu_tone (const char *path, guint freq, guint seconds)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = g_strdup_printf (
      "audiotestsrc freq=%u volume=0.5 num-buffers=%u samplesperbuffer=160 ! "
      "audio/x-raw,rate=8000,channels=1,format=S16LE ! mulawenc ! filesink location=\"%s\"",
      freq, seconds * 50, path);
  GstElement *pipe = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  g_autoptr (GstBus) bus = gst_element_get_bus (pipe);
  g_autoptr (GstMessage) msg
      = gst_bus_timed_pop_filtered (bus, 20 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
}

char *
sip_test_write_config (const char *text)
{
  g_autoptr (GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("disco-focus-XXXXXX.conf", &path, &error);
  g_assert_no_error (error);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  g_assert_no_error (error);
  return path;
}

gboolean
sip_test_wait_until (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  while (g_get_monotonic_time () < deadline)
    {
      if (cond (data))
        return TRUE;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (50 * 1000);
    }
  return cond (data);
}

/* Picks a SIP port, writes baresip's configuration and starts it. */
static void
phone_spawn (SipTestPhone *p)
{
  g_autoptr (GError) error = NULL;
  guint port = sip_test_free_port (1);
  g_autofree char *config
      = g_strdup_printf ("poll_method\t\tepoll\n"
                         "sip_listen\t\t127.0.0.1:%u\n"
                         "net_interface\t\t127.0.0.1\n"
                         "audio_player\t\taubridge,nil\n"
                         "audio_alert\t\taubridge,nil\n"
                         "audio_source\t\tausine,%u\n"
                         "ausrc_srate\t\t48000\nausrc_channels\t\t2\n"
                         "auplay_srate\t\t48000\nauplay_channels\t\t2\n"
                         "module_path\t\t/usr/lib/baresip/modules\n"
                         "module\t\t\tg711.so\nmodule\t\t\topus.so\nmodule\t\t\tausine.so\n"
                         "module\t\t\taubridge.so\nmodule\t\t\tsndfile.so\n"
                         "module_app\t\taccount.so\nmodule_app\t\tmenu.so\n"
                         "snd_path\t\t%s\n",
                         port, p->sine_hz, p->dir);
  g_autofree char *accounts
      = g_strdup_printf ("<sip:%s@127.0.0.1>;regint=0;audio_codecs=opus/48000/2,PCMU\n", p->user);
  g_autofree char *cpath = g_build_filename (p->dir, "config", NULL);
  g_autofree char *apath = g_build_filename (p->dir, "accounts", NULL);
  g_autofree char *kpath = g_build_filename (p->dir, "contacts", NULL);
  g_assert_true (g_file_set_contents (cpath, config, -1, NULL));
  g_assert_true (g_file_set_contents (apath, accounts, -1, NULL));
  g_assert_true (g_file_set_contents (kpath, "", -1, NULL));

  g_autofree char *secs = g_strdup_printf ("%u", p->seconds);
  g_autofree char *log = g_build_filename (p->dir, "baresip.log", NULL);
  const char *argv[] = { "baresip", "-f", p->dir, "-e", p->dial, "-t", secs, NULL };
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE);
  g_subprocess_launcher_set_stdout_file_path (l, log);
  g_subprocess_launcher_set_stderr_file_path (l, log);
  g_clear_object (&p->proc);
  p->proc = g_subprocess_launcher_spawnv (l, argv, &error);
  g_assert_no_error (error);
  p->started = g_get_monotonic_time ();
  p->spawns++;
}

SipTestPhone *
sip_test_phone_start (const char *hostport, const char *user, guint sine_hz, guint seconds)
{
  SipTestPhone *p = g_new0 (SipTestPhone, 1);
  g_autoptr (GError) error = NULL;
  p->dir = g_dir_make_tmp ("disco-baresip-XXXXXX", &error);
  g_assert_no_error (error);
  p->dial = g_strdup_printf ("/dial sip:conf@%s;transport=udp", hostport);
  p->user = g_strdup (user);
  p->sine_hz = sine_hz;
  p->seconds = seconds;
  phone_spawn (p);
  return p;
}

static int
phone_wait_once (SipTestPhone *p, gint64 deadline)
{
  gboolean done = FALSE;
  g_subprocess_wait_async (p->proc, NULL, wait_cb, &done);
  while (!done && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (5000);
  if (!done)
    {
      g_subprocess_force_exit (p->proc);
      while (!done)
        g_main_context_iteration (NULL, TRUE);
    }
  return done && g_subprocess_get_if_exited (p->proc) ? g_subprocess_get_exit_status (p->proc) : -1;
}

int
sip_test_phone_wait (SipTestPhone *p, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64)timeout_ms * 1000;
  int rc = phone_wait_once (p, deadline);
  /* baresip returns errno: EADDRINUSE at start-up means another process took
   * the port between our probe and its bind.  Nothing was dialled yet, so
   * starting again on a new port is the same test. */
  while (rc == EADDRINUSE && p->spawns < 4
         && g_get_monotonic_time () - p->started < 5 * G_USEC_PER_SEC)
    {
      g_test_message ("baresip: SIP port was taken, starting again");
      phone_spawn (p);
      deadline = p->started + (gint64)timeout_ms * 1000;
      rc = phone_wait_once (p, deadline);
    }
  if (rc != 0)
    {
      g_autofree char *log = g_build_filename (p->dir, "baresip.log", NULL);
      g_autofree char *text = NULL;
      g_file_get_contents (log, &text, NULL, NULL);
      g_test_message ("baresip (rc %d):\n%.4000s", rc, text ? text : "");
    }
  return rc;
}

char *
sip_test_phone_recording (SipTestPhone *p)
{
  g_autoptr (GDir) dir = g_dir_open (p->dir, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, "-dec.wav"))
      return g_build_filename (p->dir, name, NULL);
  g_autofree char *log = g_build_filename (p->dir, "baresip.log", NULL);
  g_autofree char *text = NULL;
  g_file_get_contents (log, &text, NULL, NULL);
  g_test_message ("baresip recorded nothing:\n%.4000s", text ? text : "");
  return NULL;
}

void
sip_test_phone_free (SipTestPhone *p)
{
  if (p == NULL)
    return;
  if (p->proc)
    {
      if (g_subprocess_get_identifier (p->proc))
        {
          g_subprocess_force_exit (p->proc);
          g_subprocess_wait (p->proc, NULL, NULL);
        }
      g_object_unref (p->proc);
    }
  if (p->dir)
    rm_rf (p->dir);
  g_free (p->dir);
  g_free (p->dial);
  g_free (p->user);
  g_free (p);
}

double
sip_test_tone_power (const char *wav, double freq)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *desc = g_strdup_printf (
      "filesrc location=\"%s\" ! wavparse ! audioconvert ! audioresample ! "
      "audio/x-raw,format=F32LE,channels=1,rate=16000 ! appsink name=out sync=false",
      wav);
  GstElement *pipe = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "out");
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  GArray *samples = g_array_new (FALSE, FALSE, sizeof (float));
  GstSample *sample;
  while ((sample = gst_app_sink_try_pull_sample (GST_APP_SINK (sink), 5 * GST_SECOND)))
    {
      GstMapInfo map;
      GstBuffer *buf = gst_sample_get_buffer (sample);
      if (gst_buffer_map (buf, &map, GST_MAP_READ))
        {
          g_array_append_vals (samples, map.data, map.size / sizeof (float));
          gst_buffer_unmap (buf, &map);
        }
      gst_sample_unref (sample);
    }
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (pipe);

  /* Goertzel over 100 ms blocks of the second half. */
  const double rate = 16000, block = 1600;
  double coeff = 2 * cos (2 * G_PI * freq / rate), total = 0;
  guint blocks = 0;
  for (guint start = samples->len / 2; start + block <= samples->len; start += (guint)block)
    {
      double s1 = 0, s2 = 0;
      for (guint i = 0; i < block; i++)
        {
          double s0 = g_array_index (samples, float, start + i) + coeff * s1 - s2;
          s2 = s1;
          s1 = s0;
        }
      total += (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (block * block);
      blocks++;
    }
  g_array_free (samples, TRUE);
  return blocks ? total / blocks : 0;
}
