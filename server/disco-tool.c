/* disco-tool.c: the `disco` command-line tool; one function per subcommand. */
#define G_LOG_DOMAIN "disco-tool"

#include <gio/gio.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "disco-build-config.h"
#include "disco-stdio.h"
#include "disco-tool.h"

static int cmd_version (int argc, char **argv);
static int cmd_help (int argc, char **argv);

static const DiscoToolCommand commands[] = {
  { "version", "Print the version", cmd_version },
  { "status", "Show a running daemon's status page as text", disco_tool_cmd_status },
  { "peer", "Run a RELOAD peer", disco_tool_cmd_peer },
  { "store", "Store a value in the overlay through a peer", disco_tool_cmd_store },
  { "fetch", "Fetch values from the overlay through a peer", disco_tool_cmd_fetch },
  { "stat", "Fetch value metadata through a peer", disco_tool_cmd_stat },
  { "ping", "Ping a RELOAD node through a peer", disco_tool_cmd_ping },
  { "route", "Show the hop path to a Node-ID (Chord RouteQuery)", disco_tool_cmd_route },
  { "enroll-server", "Run a RELOAD enrollment server (CA over HTTPS)",
    disco_tool_cmd_enroll_server },
  { "enroll", "Get a RELOAD certificate from an enrollment server", disco_tool_cmd_enroll },
  { "help", "List the commands", cmd_help },
};

static int
cmd_version (int argc, char **argv)
{
  g_print ("disco %s\n", DISCO_VERSION);
  return 0;
}

static int
cmd_help (int argc, char **argv)
{
  g_print ("Usage: disco COMMAND [OPTION…]\n\nCommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    g_print ("  %-10s %s\n", commands[i].name, commands[i].summary);
  g_print ("\nRun 'disco COMMAND --help' for a command's options.\n");
  return 0;
}

int
main (int argc, char **argv)
{
  disco_stdio_ensure_open ();
  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      cmd_help (argc, argv);
      return DISCO_TOOL_EXIT_USAGE;
    }
  if (g_str_equal (argv[1], "--version") || g_str_equal (argv[1], "-V"))
    return cmd_version (argc, argv);
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h"))
    return cmd_help (argc, argv);

  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);

  g_printerr ("disco: unknown command '%s'\nRun 'disco help' for the list.\n", argv[1]);
  return DISCO_TOOL_EXIT_USAGE;
}
