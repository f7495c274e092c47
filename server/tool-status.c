/* tool-status.c: `disco status`: fetch /api/status and print it for people. */
#define G_LOG_DOMAIN "disco-tool"

#include <gio/gio.h>
#include <json-c/json.h>
#include <libsoup/soup.h>

#include "disco-tool.h"

static void
print_field (json_object *obj, const char *label, const char *key)
{
  json_object *v = NULL;
  if (json_object_object_get_ex (obj, key, &v))
    g_print ("  %-12s %s\n", label, v ? json_object_get_string (v) : "-");
}

int
disco_tool_cmd_status (int argc, char **argv)
{
  g_autofree char *http = g_strdup ("127.0.0.1:8080");
  gboolean as_json = FALSE;
  GOptionEntry entries[]
      = { { "http", 0, 0, G_OPTION_ARG_STRING, &http, "Status page address", "ADDR:PORT" },
          { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the raw JSON", NULL },
          { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- show a daemon's status");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("disco status: %s\n", error->message);
      return DISCO_TOOL_EXIT_USAGE;
    }

  g_autofree char *url = g_strdup_printf ("http://%s/api/status", http);
  g_autoptr (SoupSession) session = soup_session_new_with_options ("timeout", 5, NULL);
  g_autoptr (SoupMessage) msg = soup_message_new ("GET", url);
  if (msg == NULL)
    {
      g_printerr ("disco status: invalid address '%s'\n", http);
      return DISCO_TOOL_EXIT_USAGE;
    }
  g_autoptr (GBytes) body = soup_session_send_and_read (session, msg, NULL, &error);
  if (body == NULL)
    {
      g_printerr ("disco status: %s: %s\n", url, error->message);
      return 1;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      g_printerr ("disco status: %s: HTTP %u\n", url, soup_message_get_status (msg));
      return 1;
    }

  gsize len;
  const char *data = g_bytes_get_data (body, &len);
  g_autofree char *text = g_strndup (data, len); /* GBytes are not NUL-terminated */
  json_object *doc = json_tokener_parse (text);
  if (doc == NULL)
    {
      g_printerr ("disco status: %s: not JSON\n", url);
      return 1;
    }
  if (as_json)
    g_print ("%s\n", json_object_to_json_string_ext (doc, JSON_C_TO_STRING_PRETTY));
  else
    {
      json_object *o;
      if (json_object_object_get_ex (doc, "identity", &o))
        {
          g_print ("identity\n");
          print_field (o, "name", "name");
          print_field (o, "node-id", "node_id");
        }
      if (json_object_object_get_ex (doc, "listen", &o))
        {
          g_print ("listen\n");
          print_field (o, "sip", "sip");
          print_field (o, "http", "http");
          print_field (o, "overlay", "overlay");
        }
      print_field (doc, "uptime (s)", "uptime_seconds");
    }
  json_object_put (doc);
  return 0;
}
