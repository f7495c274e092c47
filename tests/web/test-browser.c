/* Headless Chromium loads the status page from a real daemon; the test
 * checks the DOM after the page's script has fetched and rendered the JSON. */
#include <signal.h>
#include <string.h>

#include "disco-test.h"

static const char *chromium_flags[] = {
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-extensions",
  "--disable-default-apps",
  "--mute-audio",
};

static char *
text_of (const char *dom, const char *id)
{
  g_autofree char *needle = g_strdup_printf ("id=\"%s\"", id);
  const char *p = strstr (dom, needle);
  if (p == NULL)
    return NULL;
  p = strchr (p, '>');
  const char *end = p ? strchr (p, '<') : NULL;
  return end ? g_strndup (p + 1, end - p - 1) : NULL;
}

static void
test_status_page_renders (void)
{
  g_autofree char *chromium = g_find_program_in_path ("chromium");
  if (chromium == NULL)
    {
      g_test_skip ("chromium is not installed (scripts/setup.sh installs it)");
      return;
    }

  const char *args[] = { "--name", "browser-check", NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoTestDaemon) d = disco_test_daemon_spawn (args, &error);
  g_assert_no_error (error);

  /* A live call, so the conference section has a participant to render. */
  g_autofree char *sipp = g_find_program_in_path ("sipp");
  g_autoptr (GSubprocess) caller = NULL;
  if (sipp)
    {
      g_autofree char *cp = g_strdup_printf ("%d", 20000 + g_random_int_range (0, 20000));
      g_autofree char *p = g_strdup_printf ("%d", 40000 + g_random_int_range (0, 10000));
      g_autofree char *mp = g_strdup_printf ("%d", 50000 + 2 * g_random_int_range (0, 5000));
      const char *argv_sipp[]
          = { sipp,  d->sip,      "-sn", "uac",       "-s",  "conference", "-i",       "127.0.0.1",
              "-mi", "127.0.0.1", "-ci", "127.0.0.1", "-cp", cp,           "-p",       p,
              "-mp", mp,          "-m",  "1",         "-d",  "30000",      "-nostdin", NULL };
      caller = g_subprocess_newv (
          argv_sipp, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
      g_assert_no_error (error);
      /* Wait until the focus lists the caller. */
      for (int i = 0; i < 100; i++)
        {
          g_autofree char *st = NULL;
          disco_test_http (d->http, "GET", "/api/status", &st, NULL);
          if (st && strstr (st, "sip:sipp@"))
            break;
          g_usleep (100000);
        }
    }

  g_autofree char *profile = g_dir_make_tmp ("disco-chromium-XXXXXX", NULL);
  g_autofree char *profile_flag = g_strdup_printf ("--user-data-dir=%s", profile);
  g_autofree char *url = g_strdup_printf ("http://%s/", d->http);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, chromium);
  for (gsize i = 0; i < G_N_ELEMENTS (chromium_flags); i++)
    g_ptr_array_add (argv, (char *)chromium_flags[i]);
  g_ptr_array_add (argv, profile_flag);
  g_ptr_array_add (argv, "--virtual-time-budget=5000");
  g_ptr_array_add (argv, "--dump-dom");
  g_ptr_array_add (argv, url);
  g_ptr_array_add (argv, NULL);

  g_autofree char *dom = NULL, *err = NULL;
  int rc = disco_test_run ((const char *const *)argv->pdata, 90000, &dom, &err);
  g_test_message ("chromium rc=%d stderr: %s", rc, err);
  g_assert_cmpint (rc, ==, 0);
  g_assert_nonnull (dom);

  /* The script ran, fetched /api/status and filled the page. */
  g_assert_nonnull (strstr (dom, "data-loaded=\"true\""));
  g_autofree char *name = text_of (dom, "identity-name");
  g_assert_cmpstr (name, ==, "browser-check");
  g_autofree char *http = text_of (dom, "listen-http");
  g_assert_cmpstr (http, ==, d->http);
  g_autofree char *sip = text_of (dom, "listen-sip");
  g_assert_cmpstr (sip, ==, d->sip);
  g_autofree char *version = text_of (dom, "software-version");
  g_assert_cmpstr (version, ==, "disco-focus 0.1.0");
  g_autofree char *uptime = text_of (dom, "uptime");
  g_assert_nonnull (uptime);
  g_assert_true (g_str_has_suffix (uptime, "s"));
  g_assert_null (strstr (dom, "status unavailable"));

  /* The overlay section: the peer's Node-ID from the JSON, and the
   * neighbour lists of a peer without Chord shown as empty. */
  g_autofree char *st_body = NULL;
  g_assert_cmpuint (disco_test_http (d->http, "GET", "/api/status", &st_body, NULL), ==, 200);
  g_autofree char *node_id = NULL;
  g_autoptr (GMatchInfo) mi = NULL;
  g_autoptr (GRegex) re = g_regex_new ("\"node_id\": *\"([0-9a-f]{32})\"", 0, 0, NULL);
  g_assert_true (g_regex_match (re, st_body, 0, &mi));
  node_id = g_match_info_fetch (mi, 1);
  g_autofree char *overlay_id = text_of (dom, "overlay-node-id");
  g_assert_cmpstr (overlay_id, ==, node_id);
  g_autofree char *succ = text_of (dom, "overlay-successors");
  g_assert_cmpstr (succ, ==, "none");
  g_autofree char *preds = text_of (dom, "overlay-predecessors");
  g_assert_cmpstr (preds, ==, "none");
  g_autofree char *stored = text_of (dom, "overlay-stored");
  g_assert_cmpstr (stored, ==, "0");
  if (caller)
    {
      /* The conference and its participant were rendered from the JSON. */
      g_assert_nonnull (strstr (dom, "<h3>sip:conference@127.0.0.1</h3>"));
      g_assert_nonnull (strstr (dom, "data-participant=\"sip:sipp@"));
      g_assert_nonnull (strstr (dom, "<td>PCMU</td>"));
      /* A participant of this focus has a known duration, loss and talking
       * state (only another focus's participants show "—"). */
      g_assert_true (g_regex_match_simple ("<td>PCMU</td><td>([0-9]+m )?[0-9]+s</td>"
                                           "<td>[0-9.]+ %</td><td>(yes|no)</td>",
                                           dom, 0, 0));
      g_autofree char *participants = text_of (dom, "load-participants");
      g_assert_cmpstr (participants, ==, "1");
      g_subprocess_force_exit (caller);
      g_subprocess_wait (caller, NULL, NULL);
    }

  g_assert_cmpint (disco_test_daemon_stop (d, SIGTERM, 5000), ==, 0);
  g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", profile);
  g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/web/browser/status-page-renders", test_status_page_renders);
  return g_test_run ();
}
