/* disco-tool.h: subcommands of the `disco` tool.  Each takes the argv that
 * starts at its own name and returns the process exit code. */
#pragma once

#include <gio/gio.h>

#define DISCO_TOOL_EXIT_USAGE 2

typedef struct
{
  const char *name;
  const char *summary;
  int (*run) (int argc, char **argv);
} DiscoToolCommand;

int disco_tool_cmd_status (int argc, char **argv);
int disco_tool_cmd_peer (int argc, char **argv);
int disco_tool_cmd_store (int argc, char **argv);
int disco_tool_cmd_fetch (int argc, char **argv);
int disco_tool_cmd_stat (int argc, char **argv);
int disco_tool_cmd_ping (int argc, char **argv);
int disco_tool_cmd_route (int argc, char **argv);
int disco_tool_cmd_enroll_server (int argc, char **argv);
int disco_tool_cmd_enroll (int argc, char **argv);

/* "ADDR:PORT" or "[V6]:PORT" with a numeric address (tool-client.c). */
GInetSocketAddress *disco_tool_parse_address (const char *text, GError **error);
