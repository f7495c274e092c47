/* disco-tool.h: subcommands of the `disco` tool.  Each takes the argv that
 * starts at its own name and returns the process exit code. */
#pragma once

#define DISCO_TOOL_EXIT_USAGE 2

typedef struct
{
  const char *name;
  const char *summary;
  int (*run) (int argc, char **argv);
} DiscoToolCommand;

int disco_tool_cmd_status (int argc, char **argv);
