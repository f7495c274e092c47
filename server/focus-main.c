/* focus-main.c: the disco-focus daemon's command line and main loop. */
#define G_LOG_DOMAIN "disco-focus"

#include <glib-unix.h>
#include <gst/gst.h>
#include <errno.h>
#include <locale.h>
#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <stdio.h>

#include "disco-build-config.h"
#include "disco-stdio.h"
#include "focus.h"

#define EXIT_USAGE 2

typedef struct
{
  GMainLoop *loop;
  int signal_count;
} MainState;

static gboolean
on_signal (gpointer user_data)
{
  MainState *st = user_data;

  if (++st->signal_count == 1)
    {
      g_message ("shutting down");
      g_main_loop_quit (st->loop);
    }
  return G_SOURCE_CONTINUE;
}

/* Every flag maps onto a [group] key, so the file and the command line share
 * one validator. */
typedef struct
{
  const char *flag;
  const char *group;
  const char *key;
  char *value;
} FlagMap;

#define N_FLAGS 7

static void
flags_clear (FlagMap (*flags)[N_FLAGS])
{
  for (gsize i = 0; i < N_FLAGS; i++)
    g_clear_pointer (&(*flags)[i].value, g_free);
}

int
main (int argc, char **argv)
{
  disco_stdio_ensure_open ();
  g_autofree char *config_path = NULL;
  gboolean show_version = FALSE, verbose = FALSE;
  __attribute__ ((cleanup (flags_clear))) FlagMap flags[N_FLAGS] = {
    { "--sip-listen", "sip", "listen", NULL },
    { "--http-listen", "http", "listen", NULL },
    { "--overlay-listen", "overlay", "listen", NULL },
    { "--data-dir", "focus", "data-dir", NULL },
    { "--name", "focus", "name", NULL },
    { "--conference", "focus", "conferences", NULL },
    { "--max-participants", "media", "max-participants", NULL },
  };
  GOptionEntry entries[]
      = { { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
            "Key file with [focus], [sip], [http], [overlay] and [media] sections", "FILE" },
          { "sip-listen", 0, 0, G_OPTION_ARG_STRING, &flags[0].value,
            "SIP listen address (UDP and TCP); port 0 = ephemeral", "ADDR:PORT" },
          { "http-listen", 0, 0, G_OPTION_ARG_STRING, &flags[1].value, "Status page listen address",
            "ADDR:PORT" },
          { "overlay-listen", 0, 0, G_OPTION_ARG_STRING, &flags[2].value,
            "RELOAD overlay listen address", "ADDR:PORT" },
          { "data-dir", 0, 0, G_OPTION_ARG_FILENAME, &flags[3].value,
            "Directory for certificates and state", "DIR" },
          { "name", 0, 0, G_OPTION_ARG_STRING, &flags[4].value, "Human-readable name of this focus",
            "NAME" },
          { "conference", 0, 0, G_OPTION_ARG_STRING, &flags[5].value,
            "Conference URIs served (comma-separated)", "URI[,URI]" },
          { "max-participants", 0, 0, G_OPTION_ARG_STRING, &flags[6].value,
            "Participants admitted before redirecting", "N" },
          { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Log debug messages", NULL },
          { "version", 'V', 0, G_OPTION_ARG_NONE, &show_version, "Print the version and exit",
            NULL },
          { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- distributed SIP conference focus peer");
  g_autoptr (GError) error = NULL;
  int rc = 0;

  setlocale (LC_ALL, "");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  g_option_context_set_description (
      ctx, "With no options the daemon starts on embedded defaults: SIP on 127.0.0.1:5060,\n"
           "the status page on http://127.0.0.1:8080/ and the overlay on 127.0.0.1:6084.\n"
           "Command-line flags override the configuration file.\n");
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("disco-focus: %s\nTry 'disco-focus --help'.\n", error->message);
      return EXIT_USAGE;
    }
  if (argc > 1)
    {
      g_printerr ("disco-focus: unexpected argument '%s'\n", argv[1]);
      return EXIT_USAGE;
    }
  if (show_version)
    {
      g_print ("disco-focus %s\n", DISCO_VERSION);
      return 0;
    }
  if (verbose)
    g_log_set_debug_enabled (TRUE);

  g_autoptr (DiscoFocusConfig) config = disco_focus_config_new_default ();
  if (config_path && !disco_focus_config_load_file (config, config_path, &error))
    {
      g_printerr ("disco-focus: %s\n", error->message);
      return EXIT_USAGE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (flags); i++)
    if (flags[i].value
        && !disco_focus_config_set (config, flags[i].group, flags[i].key, flags[i].value,
                                    flags[i].flag, &error))
      {
        g_printerr ("disco-focus: %s\n", error->message);
        return EXIT_USAGE;
      }

  /* Certificates and state live here; keep them private to this user. */
  if (g_mkdir_with_parents (config->data_dir, 0700) != 0)
    {
      g_printerr ("disco-focus: cannot create data directory %s: %s\n", config->data_dir,
                  g_strerror (errno));
      return 1;
    }

  /* su_glib's debug output goes to stderr unless silenced. */
  if (!g_getenv ("SU_DEBUG"))
    g_setenv ("SU_DEBUG", "0", TRUE);
  su_init ();
  su_log_set_level (NULL, 0);

  g_autoptr (DiscoFocus) focus = disco_focus_new (g_steal_pointer (&config), &error);
  if (focus == NULL)
    {
      g_printerr ("disco-focus: %s\n", error->message);
      su_deinit ();
      return 1;
    }

  /* Handlers go in before the ready line: whoever reads it may signal at once. */
  MainState st = { g_main_loop_new (NULL, FALSE), 0 };
  guint sigint = g_unix_signal_add (SIGINT, on_signal, &st);
  guint sigterm = g_unix_signal_add (SIGTERM, on_signal, &st);

  g_autofree char *ready = disco_focus_ready_line (focus);
  printf ("%s\n", ready);
  fflush (stdout);
  g_message ("%s", ready);
  g_main_loop_run (st.loop);

  if (!disco_focus_shutdown (focus))
    {
      g_warning ("SIP shutdown timed out");
      rc = 1;
    }
  g_clear_pointer (&focus, disco_focus_free);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  g_main_loop_unref (st.loop);
  su_deinit ();
  gst_deinit ();
  g_message ("stopped");
  return rc;
}
