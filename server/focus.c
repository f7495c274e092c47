/* focus.c: assembling a focus daemon from its parts, and tearing it down. */
#define G_LOG_DOMAIN "disco-focus"

#include "focus-private.h"

#include <sofia-sip/su_glib.h>

#include "reload-node-profile.h"

/* One OPTIONS round trip per peer focus and second: Vivaldi needs a
 * handful of samples to settle, and a peer is a few foci at most. */
#define COORDINATES_INTERVAL_MS 1000

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

static void
overlay_bootstrapped (GObject *src, GAsyncResult *res, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *peer = user_data;
  /* The node may be gone (shutdown): it completes pending connects first. */
  if (!disco_reload_node_connect_finish (NULL, res, NULL, &error))
    g_message ("overlay bootstrap %s: %s", peer, error->message);
  else
    g_message ("overlay: linked to bootstrap peer %s", peer);
}

/* The overlay peer: identity and overlay document from the data dir (a
 * self-signed identity is made there when the overlay permits it), TLS
 * links accepted on overlay_listen, links to the configured bootstrap peers. */
static gboolean
bind_overlay (DiscoFocus *self, GError **error)
{
  g_autoptr (DiscoReloadConfig) overlay = NULL;
  g_autoptr (DiscoReloadIdentity) identity = NULL;

  if (!disco_reload_node_profile_load (self->config->data_dir, self->config->overlay_config, NULL,
                                       &overlay, &identity, error))
    return FALSE;
  DiscoReloadNodeSettings settings = { .identity = identity, .config = overlay };
  self->overlay_node = disco_reload_node_new (&settings, error);
  if (self->overlay_node == NULL
      || !disco_reload_node_listen (self->overlay_node, self->config->overlay_listen,
                                    DISCO_RELOAD_LINK_TLS, error))
    return FALSE;
  self->overlay_bound = g_object_ref (disco_reload_node_get_listen_address (self->overlay_node));
  for (char **b = self->config->bootstrap; b && *b; b++)
    {
      /* The config layer already refused anything but numeric ADDR:PORT. */
      g_autoptr (GInetSocketAddress) addr = disco_address_parse (*b, NULL);
      if (addr == NULL)
        continue;
      disco_reload_node_connect_async (self->overlay_node, G_SOCKET_ADDRESS (addr),
                                       DISCO_RELOAD_LINK_TLS, NULL, NULL, overlay_bootstrapped,
                                       g_strdup (*b));
    }
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

  self->sip = disco_sip_agent_new (self->root, config, error);
  if (self->sip == NULL)
    return NULL;

  if (!bind_overlay (self, error))
    {
      prefix_error (error, "the overlay", config->overlay_listen);
      return NULL;
    }
  /* The SIP side names this peer by Node-ID in its conference state. */
  if (self->overlay_node)
    {
      g_autofree char *node_hex
          = disco_reload_node_id_to_hex (disco_reload_node_get_node_id (self->overlay_node));
      disco_sip_agent_set_node_id (self->sip, node_hex);
    }
  self->coordinates = disco_focus_coordinates_new (self->sip, COORDINATES_INTERVAL_MS);

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
                          (int)getpid ());
}

gboolean
disco_focus_shutdown (DiscoFocus *self)
{
  gboolean ok = TRUE;

  /* Its pings are sofia handles: gone before the stack shuts down. */
  g_clear_pointer (&self->coordinates, disco_focus_coordinates_free);
  if (self->sip)
    ok = disco_sip_agent_shutdown (self->sip, 3000);
  g_clear_pointer (&self->web, disco_web_server_free);
  if (self->overlay_node)
    {
      g_clear_pointer (&self->overlay_node, disco_reload_node_free);
      /* Bootstrap connects still pending complete (with an error) from idle
       * callbacks; let them run so nothing is left behind. */
      for (int i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
        ;
    }
  return ok;
}

void
disco_focus_free (DiscoFocus *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->coordinates, disco_focus_coordinates_free);
  if (self->sip)
    {
      disco_sip_agent_shutdown (self->sip, 3000);
      g_clear_pointer (&self->sip, disco_sip_agent_free);
    }
  g_clear_pointer (&self->web, disco_web_server_free);
  g_clear_pointer (&self->overlay_node, disco_reload_node_free);
  g_clear_object (&self->overlay_bound);
  if (self->root)
    su_root_destroy (self->root);
  g_clear_pointer (&self->started_at, g_date_time_unref);
  disco_focus_config_free (self->config);
  g_free (self);
}
