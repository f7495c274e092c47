/* focus-coordinates.c: see focus-coordinates.h. */
#define G_LOG_DOMAIN "disco-coordinates"

#include "focus-coordinates.h"

#include <math.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>

#include "conference.h"
#include "disco-vivaldi.h"

#define PUBLISH_MOVE_FRACTION 0.1
#define PUBLISH_ERROR_STEP 0.05

struct _DiscoFocusCoordinates
{
  DiscoSipAgent *agent;
  DiscoVivaldi *vivaldi;
  DiscoVivaldiCoord published;
  GHashTable *pings;   /* peer URI -> Ping in flight (owned) */
  GHashTable *last_ms; /* peer URI -> double * (last RTT sample) */
  guint timer;
  guint64 refused; /* peer coordinates that failed to decode; samples dropped */
};

typedef struct
{
  DiscoHandleKind kind;
  DiscoFocusCoordinates *owner;
  nua_handle_t *nh;
  char *peer;
  gint64 sent_us;
} Ping;

static void
ping_free (Ping *ping)
{
  /* Unbound first: sofia reports nothing more for a handle we gave up. */
  nua_handle_bind (ping->nh, NULL);
  nua_handle_destroy (ping->nh);
  g_free (ping->peer);
  g_free (ping);
}

static void
publish (DiscoFocusCoordinates *self)
{
  self->published = *disco_vivaldi_get (self->vivaldi);
  g_autoptr (GBytes) bytes = disco_vivaldi_encode (&self->published);
  disco_sip_agent_set_coordinates (self->agent, bytes);
}

static gboolean
remote_coordinate (DiscoFocusCoordinates *self, const char *peer, DiscoVivaldiCoord *out,
                   GError **error)
{
  g_autoptr (GBytes) bytes = disco_sip_agent_peer_coordinates (self->agent, peer);
  if (bytes == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s publishes no coordinates", peer);
      return FALSE;
    }
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  return disco_vivaldi_decode (data, len, out, error);
}

static void
sample (DiscoFocusCoordinates *self, const char *peer, double rtt_ms)
{
  g_autoptr (GError) error = NULL;
  DiscoVivaldiCoord remote;
  if (!remote_coordinate (self, peer, &remote, &error)
      || !disco_vivaldi_observe (self->vivaldi, peer, rtt_ms, &remote, &error))
    {
      self->refused++;
      g_debug ("RTT sample to %s dropped: %s", peer, error->message);
      return;
    }
  double *last = g_new (double, 1);
  *last = rtt_ms;
  g_hash_table_replace (self->last_ms, g_strdup (peer), last);

  const DiscoVivaldiCoord *now = disco_vivaldi_get (self->vivaldi);
  double moved = fabs (now->height - self->published.height);
  double d2 = 0;
  for (int i = 0; i < DISCO_VIVALDI_DIMS; i++)
    d2 += (now->vec[i] - self->published.vec[i]) * (now->vec[i] - self->published.vec[i]);
  moved += sqrt (d2);
  if (moved > PUBLISH_MOVE_FRACTION * rtt_ms
      || fabs (now->error - self->published.error) > PUBLISH_ERROR_STEP)
    publish (self);
}

void
disco_ping_response (void *data, int status)
{
  Ping *ping = data;
  if (status < 200)
    return;
  DiscoFocusCoordinates *self = ping->owner;
  double rtt_ms = (double)(g_get_monotonic_time () - ping->sent_us) / 1000.0;
  /* Any final answer from the peer's stack is a round trip, but only a 2xx
   * is known to have come from the focus itself rather than a timeout. */
  if (status < 300)
    sample (self, ping->peer, rtt_ms);
  g_hash_table_remove (self->pings, ping->peer);
}

static void
ping (DiscoFocusCoordinates *self, const char *peer)
{
  nua_t *nua = disco_sip_agent_nua (self->agent);
  g_autofree char *from = g_strdup_printf ("<%s>", disco_sip_agent_focus_uri (self->agent));
  Ping *p = g_new0 (Ping, 1);
  p->kind = DISCO_HANDLE_PING;
  p->owner = self;
  p->peer = g_strdup (peer);
  p->nh = nua_handle (nua, p, NUTAG_URL (peer), SIPTAG_TO_STR (peer), SIPTAG_FROM_STR (from),
                      TAG_END ());
  if (p->nh == NULL)
    {
      g_free (p->peer);
      g_free (p);
      return;
    }
  p->sent_us = g_get_monotonic_time ();
  nua_options (p->nh, TAG_END ());
  g_hash_table_insert (self->pings, p->peer, p);
}

static gboolean
on_timer (gpointer data)
{
  DiscoFocusCoordinates *self = data;
  g_auto (GStrv) peers = disco_sip_agent_peer_uris (self->agent);
  for (char **peer = peers; peer && *peer; peer++)
    {
      /* One round trip per peer at a time: a slow peer is not flooded. */
      if (g_hash_table_contains (self->pings, *peer))
        continue;
      /* Only a peer with a usable coordinate is worth a round trip; one
       * that publishes none does not run Vivaldi. */
      g_autoptr (GError) error = NULL;
      DiscoVivaldiCoord remote;
      if (remote_coordinate (self, *peer, &remote, &error))
        ping (self, *peer);
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          self->refused++;
          g_debug ("not measuring %s: %s", *peer, error->message);
        }
    }
  return G_SOURCE_CONTINUE;
}

DiscoFocusCoordinates *
disco_focus_coordinates_new (DiscoSipAgent *agent, guint interval_ms)
{
  DiscoFocusCoordinates *self = g_new0 (DiscoFocusCoordinates, 1);
  self->agent = agent;
  self->vivaldi = disco_vivaldi_new (g_random_int ());
  self->pings = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify)ping_free);
  self->last_ms = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  publish (self);
  self->timer = g_timeout_add (MAX (interval_ms, 10), on_timer, self);
  return self;
}

void
disco_focus_coordinates_free (DiscoFocusCoordinates *self)
{
  if (self == NULL)
    return;
  g_source_remove (self->timer);
  g_hash_table_destroy (self->pings);
  g_hash_table_destroy (self->last_ms);
  disco_vivaldi_free (self->vivaldi);
  g_free (self);
}

json_object *
disco_focus_coordinates_status (DiscoFocusCoordinates *self)
{
  json_object *o = json_object_new_object ();
  const DiscoVivaldiCoord *c = disco_vivaldi_get (self->vivaldi);
  json_object_object_add (o, "type", json_object_new_string ("vivaldi"));
  json_object_object_add (o, "x", json_object_new_double (c->vec[0]));
  json_object_object_add (o, "y", json_object_new_double (c->vec[1]));
  json_object_object_add (o, "height", json_object_new_double (c->height));
  json_object_object_add (o, "error", json_object_new_double (c->error));
  json_object_object_add (o, "updates",
                          json_object_new_int64 (disco_vivaldi_updates (self->vivaldi)));
  json_object_object_add (o, "remote_refused", json_object_new_int64 ((gint64)self->refused));
  json_object *peers = json_object_new_array ();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, self->last_ms);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      json_object *p = json_object_new_object ();
      json_object_object_add (p, "uri", json_object_new_string (k));
      json_object_object_add (p, "rtt_ms", json_object_new_double (*(double *)v));
      DiscoVivaldiCoord remote;
      json_object_object_add (p, "predicted_ms",
                              remote_coordinate (self, k, &remote, NULL)
                                  ? json_object_new_double (disco_vivaldi_predict (c, &remote))
                                  : NULL);
      json_object_array_add (peers, p);
    }
  json_object_object_add (o, "peers", peers);
  return o;
}
