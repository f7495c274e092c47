/* web-server.c: libsoup 3 routes of the status page. */
#define G_LOG_DOMAIN "disco-web"

#include "disco-web.h"
#include "disco-web-resources.h"

#include <libsoup/soup.h>
#include <string.h>

struct _DiscoWebServer
{
  SoupServer *soup;
  DiscoWebStatusFunc status_func;
  DiscoWebMetricsFunc metrics_func;
  gpointer user_data;
  GInetSocketAddress *bound;
};

static void
reply (SoupServerMessage *msg, guint status, const char *type, const char *body, gsize len)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  soup_message_headers_replace (h, "Cache-Control", "no-store");
  soup_message_headers_replace (h, "X-Content-Type-Options", "nosniff");
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, body, len);
}

static void
reply_text (SoupServerMessage *msg, guint status, const char *text)
{
  reply (msg, status, "text/plain; charset=utf-8", text, strlen (text));
}

static gboolean
serve_asset (SoupServerMessage *msg, const char *name, const char *type)
{
  g_autofree char *path = g_strconcat ("/org/disco/web/", name, NULL);
  g_autoptr (GBytes) bytes = g_resources_lookup_data (path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  if (bytes == NULL)
    return FALSE;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  reply (msg, SOUP_STATUS_OK, type, data, len);
  return TRUE;
}

static void
serve_status (DiscoWebServer *self, SoupServerMessage *msg)
{
  json_object *doc
      = self->status_func ? self->status_func (self->user_data) : json_object_new_object ();
  size_t len;
  const char *text = json_object_to_json_string_length (
      doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
  reply (msg, SOUP_STATUS_OK, "application/json", text, len);
  json_object_put (doc);
}

static void
serve_metrics (DiscoWebServer *self, SoupServerMessage *msg)
{
  g_autoptr (DiscoWebMetrics) m = disco_web_metrics_new ();
  if (self->metrics_func)
    self->metrics_func (m, self->user_data);
  disco_web_metrics_add_process (m);
  g_autofree char *text = disco_web_metrics_render (m);
  reply (msg, SOUP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", text, strlen (text));
}

static const struct
{
  const char *path;
  const char *resource;
  const char *type;
} assets[] = {
  { "/", "index.html", "text/html; charset=utf-8" },
  { "/index.html", "index.html", "text/html; charset=utf-8" },
  { "/assets/status.js", "status.js", "text/javascript; charset=utf-8" },
  { "/assets/style.css", "style.css", "text/css; charset=utf-8" },
};

static void
handle (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
        gpointer user_data)
{
  DiscoWebServer *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  gboolean known = g_str_equal (path, "/api/status") || g_str_equal (path, "/metrics")
                   || g_str_equal (path, "/healthz");

  for (gsize i = 0; i < G_N_ELEMENTS (assets); i++)
    known |= g_str_equal (path, assets[i].path);

  if (!known)
    {
      reply_text (msg, SOUP_STATUS_NOT_FOUND, "not found\n");
      return;
    }
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET, HEAD");
      reply_text (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed\n");
      return;
    }

  if (g_str_equal (path, "/api/status"))
    serve_status (self, msg);
  else if (g_str_equal (path, "/metrics"))
    serve_metrics (self, msg);
  else if (g_str_equal (path, "/healthz"))
    reply_text (msg, SOUP_STATUS_OK, "ok\n");
  else
    for (gsize i = 0; i < G_N_ELEMENTS (assets); i++)
      if (g_str_equal (path, assets[i].path)
          && !serve_asset (msg, assets[i].resource, assets[i].type))
        reply_text (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "asset missing\n");
}

DiscoWebServer *
disco_web_server_new (DiscoWebStatusFunc status_func, DiscoWebMetricsFunc metrics_func,
                      gpointer user_data)
{
  DiscoWebServer *self = g_new0 (DiscoWebServer, 1);

  g_resources_register (disco_web_get_resource ());
  self->status_func = status_func;
  self->metrics_func = metrics_func;
  self->user_data = user_data;
  self->soup = soup_server_new ("server-header", "disco-focus", NULL);
  soup_server_add_handler (self->soup, NULL, handle, self, NULL);
  return self;
}

gboolean
disco_web_server_listen (DiscoWebServer *self, GInetSocketAddress *address, GError **error)
{
  if (!soup_server_listen (self->soup, G_SOCKET_ADDRESS (address), 0, error))
    return FALSE;

  GSList *listeners = soup_server_get_listeners (self->soup);
  if (listeners)
    {
      g_autoptr (GSocketAddress) local = g_socket_get_local_address (listeners->data, error);
      if (local == NULL)
        return FALSE;
      g_clear_object (&self->bound);
      self->bound = G_INET_SOCKET_ADDRESS (g_steal_pointer (&local));
    }
  g_slist_free (listeners);
  return self->bound != NULL;
}

GInetSocketAddress *
disco_web_server_get_address (DiscoWebServer *self)
{
  return self->bound;
}

void
disco_web_server_free (DiscoWebServer *self)
{
  if (self == NULL)
    return;
  soup_server_disconnect (self->soup);
  g_object_unref (self->soup);
  g_clear_object (&self->bound);
  g_free (self);
}
