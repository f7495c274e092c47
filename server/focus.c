/* focus.c: assembling a focus daemon from its parts, and tearing it down. */
#define G_LOG_DOMAIN "disco-focus"

#include "focus-private.h"

#include <sofia-sip/su_glib.h>

static json_object *
status_cb (gpointer user_data)
{
  return disco_focus_status (user_data);
}

static void
metrics_cb (DiscoWebMetrics *metrics, gpointer user_data)
{
  disco_focus_metrics (user_data, metrics);
}

/* The overlay listener: a bound, listening TCP socket.  The RELOAD link
 * layer accepts on it. */
static gboolean
bind_overlay (DiscoFocus *self, GError **error)
{
  GInetSocketAddress *addr = self->config->overlay_listen;
  GSocketFamily family = g_inet_address_get_family (g_inet_socket_address_get_address (addr));

  self->overlay_socket =
      g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (self->overlay_socket == NULL)
    return FALSE;
  if (!g_socket_bind (self->overlay_socket, G_SOCKET_ADDRESS (addr), TRUE, error) ||
      !g_socket_listen (self->overlay_socket, error))
    return FALSE;
  GSocketAddress *local = g_socket_get_local_address (self->overlay_socket, error);
  if (local == NULL)
    return FALSE;
  self->overlay_bound = G_INET_SOCKET_ADDRESS (local);
  return TRUE;
}

static gboolean
prefix_error (GError **error, const char *what, GInetSocketAddress *addr)
{
  g_autofree char *text = disco_address_to_string (addr);
  g_prefix_error (error, "cannot listen for %s on %s: ", what, text);
  return FALSE;
}

DiscoFocus *
disco_focus_new (DiscoFocusConfig *config, GError **error)
{
  g_autoptr (DiscoFocus) self = g_new0 (DiscoFocus, 1);

  self->config = config;
  self->started_monotonic = g_get_monotonic_time ();
  self->started_at = g_date_time_new_now_utc ();

  self->root = su_glib_root_create (self);
  if (self->root == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot create the sofia-sip root");
      return NULL;
    }
  g_source_attach (su_glib_root_gsource (self->root), NULL);

  self->sip = disco_sip_agent_new (self->root, config->sip_listen, error);
  if (self->sip == NULL)
    return NULL;

  if (!bind_overlay (self, error))
    {
      prefix_error (error, "the overlay", config->overlay_listen);
      return NULL;
    }

  self->web = disco_web_server_new (status_cb, metrics_cb, self);
  if (!disco_web_server_listen (self->web, config->http_listen, error))
    {
      prefix_error (error, "HTTP", config->http_listen);
      return NULL;
    }

  return g_steal_pointer (&self);
}

char *
disco_focus_ready_line (DiscoFocus *self)
{
  g_autofree char *sip = disco_address_to_string (disco_sip_agent_get_address (self->sip));
  g_autofree char *http = disco_address_to_string (disco_web_server_get_address (self->web));
  g_autofree char *overlay = disco_address_to_string (self->overlay_bound);

  return g_strdup_printf ("ready sip=%s http=%s overlay=%s pid=%d", sip, http, overlay,
                          (int) getpid ());
}

gboolean
disco_focus_shutdown (DiscoFocus *self)
{
  gboolean ok = TRUE;

  if (self->sip)
    ok = disco_sip_agent_shutdown (self->sip, 3000);
  g_clear_pointer (&self->web, disco_web_server_free);
  if (self->overlay_socket)
    g_socket_close (self->overlay_socket, NULL);
  return ok;
}

void
disco_focus_free (DiscoFocus *self)
{
  if (self == NULL)
    return;
  if (self->sip)
    {
      disco_sip_agent_shutdown (self->sip, 3000);
      g_clear_pointer (&self->sip, disco_sip_agent_free);
    }
  g_clear_pointer (&self->web, disco_web_server_free);
  g_clear_object (&self->overlay_socket);
  g_clear_object (&self->overlay_bound);
  if (self->root)
    su_root_destroy (self->root);
  g_clear_pointer (&self->started_at, g_date_time_unref);
  disco_focus_config_free (self->config);
  g_free (self);
}
