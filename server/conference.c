/* conference.c: one conference served by this focus peer: participants,
 * change batching, delegation targets and the status snapshot. */
#define G_LOG_DOMAIN "disco-conference"

#include "conference.h"
#include "sip-admission.h"

#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

#include "conference-info.h"

/* Changes are batched: one partial NOTIFY per subscriber per burst. */
#define FLUSH_DELAY_MS 100

static char *
uri_user (const char *uri, GError **error)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = url_hdup (home, (url_t *)url_make (home, uri));
  char *out = NULL;

  if (url == NULL || (url->url_type != url_sip && url->url_type != url_sips)
      || url->url_user == NULL || *url->url_user == '\0')
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                 "conference '%s' is not a sip: URI with a user part", uri);
  else
    out = g_strdup (url->url_user);
  su_home_deinit (home);
  return out;
}

/* Every focus derives the same RFC 7989 UUID from the conference URI
 * (§9: one local UUID towards all participants of a conference). */
static char *
conference_uuid (const char *uri)
{
  g_autofree char *sha = g_compute_checksum_for_string (G_CHECKSUM_SHA256, uri, -1);
  return g_strndup (sha, 32);
}

DiscoConference *
disco_conference_new (DiscoSipAgent *agent, const char *uri, GError **error)
{
  g_autofree char *user = uri_user (uri, error);
  if (user == NULL)
    return NULL;

  const DiscoFocusConfig *config = disco_sip_agent_config (agent);
  DiscoConferenceMedia *media = disco_conference_media_new (uri, config->rtp_address, error);
  if (media == NULL)
    {
      g_prefix_error (error, "conference %s: ", uri);
      return NULL;
    }

  DiscoConference *conf = g_new0 (DiscoConference, 1);
  conf->agent = agent;
  conf->uri = g_strdup (uri);
  conf->user = g_steal_pointer (&user);
  conf->uuid = conference_uuid (uri);
  conf->contact
      = g_strdup_printf ("<sip:%s@%s>;isfocus", conf->user, disco_sip_agent_hostport (agent));
  conf->participants = g_hash_table_new (g_str_hash, g_str_equal);
  conf->subscriptions = g_ptr_array_new ();
  conf->peers = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_peer_link_free);
  conf->advertised = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  conf->started_us = g_get_monotonic_time ();
  conf->media = media;

  for (char **peer = config->peers; peer && *peer; peer++)
    {
      const char *hp = g_str_has_prefix (*peer, "sip:") ? *peer + 4 : *peer;
      g_autofree char *peer_uri = g_strdup_printf ("sip:%s", hp);
      if (!g_str_equal (peer_uri, disco_sip_agent_focus_uri (agent)))
        g_ptr_array_add (conf->peers, disco_peer_link_new (conf, peer_uri));
    }
  return conf;
}

static void
participant_free (DiscoParticipant *p)
{
  if (p->nh)
    nua_handle_bind (p->nh, NULL);
  g_free (p->id);
  g_free (p->aor);
  g_free (p->display);
  g_free (p->contact);
  g_free (p->call_id);
  g_free (p->from_tag);
  g_free (p->to_tag);
  g_free (p->session_id);
  g_free (p->remote_focus);
  g_free (p->referred_by);
  g_free (p->delegating_to);
  g_clear_handle_id (&p->refer_timer, g_source_remove);
  g_free (p->pending_delegate);
  g_free (p->refer_event);
  if (p->notify_refer)
    nua_handle_unref (p->notify_refer);
  g_free (p->local_sdp);
  if (p->replaces)
    nua_handle_unref (p->replaces);
  disco_sdp_media_clear (&p->media);
  g_free (p);
}

void
disco_conference_free (DiscoConference *conf)
{
  if (conf == NULL)
    return;
  if (conf->flush_source)
    g_source_remove (conf->flush_source);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, conf->participants);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      DiscoParticipant *p = v;
      if (p->in_room)
        disco_conference_media_remove (conf->media, p);
      participant_free (p);
    }
  g_hash_table_destroy (conf->participants);
  for (guint i = 0; i < conf->subscriptions->len; i++)
    disco_subscription_free (g_ptr_array_index (conf->subscriptions, i));
  g_ptr_array_free (conf->subscriptions, TRUE);
  g_ptr_array_free (conf->peers, TRUE);
  g_hash_table_destroy (conf->advertised);
  disco_conference_media_free (conf->media);
  g_free (conf->uri);
  g_free (conf->user);
  g_free (conf->uuid);
  g_free (conf->contact);
  g_free (conf);
}

void
disco_conference_end (DiscoConference *conf)
{
  disco_notify_terminate_all (conf);
  for (guint i = 0; i < conf->peers->len; i++)
    {
      DiscoPeerLink *link = g_ptr_array_index (conf->peers, i);
      if (link->nh && link->active)
        nua_unsubscribe (link->nh, TAG_END ());
    }
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, conf->participants);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      DiscoParticipant *p = v;
      if (p->nh && p->answered)
        nua_bye (p->nh, TAG_END ());
    }
}

guint
disco_conference_drain (DiscoConference *conf)
{
  /* Tell subscribers (the other foci first of all) before the REFERs go
   * out, so nobody delegates back to us meanwhile. */
  if (!conf->leaving)
    {
      conf->leaving = TRUE;
      conf->foci_changed = TRUE;
      disco_notify_flush (conf);
    }
  DiscoPeerLink *peer = disco_conference_pick_peer (conf);
  guint n = 0;
  if (peer == NULL)
    return 0;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, conf->participants);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      DiscoParticipant *p = v;
      if (p->answered && p->allows_refer && p->to_tag && disco_refer_delegate (p, peer->peer_uri))
        n++;
    }
  return n;
}

guint
disco_conference_delegating (DiscoConference *conf)
{
  guint n = 0;
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, conf->participants);
  while (g_hash_table_iter_next (&it, NULL, &v))
    if (((DiscoParticipant *)v)->delegating_to)
      n++;
  return n;
}

DiscoParticipant *
disco_participant_new (DiscoConference *conf, nua_handle_t *nh)
{
  DiscoParticipant *p = g_new0 (DiscoParticipant, 1);
  p->kind = DISCO_HANDLE_PARTICIPANT;
  p->conf = conf;
  p->nh = nh;
  p->id = g_strdup_printf ("%s-%u", conf->user, ++conf->next_id);
  p->status = "dialing-in";
  p->joining_method = "dialed-in";
  p->joined_us = g_get_monotonic_time ();
  p->media.telephone_event_pt = -1;
  g_hash_table_insert (conf->participants, p->id, p);
  nua_handle_bind (nh, p);
  return p;
}

void
disco_participant_remove (DiscoParticipant *p)
{
  DiscoConference *conf = p->conf;
  if (p->in_room)
    disco_conference_media_remove (conf->media, p);
  g_hash_table_remove (conf->participants, p->id);
  participant_free (p);
  disco_conference_changed (conf);
}

static gboolean
flush_cb (gpointer data)
{
  DiscoConference *conf = data;
  conf->flush_source = 0;
  disco_notify_flush (conf);
  return G_SOURCE_REMOVE;
}

void
disco_conference_changed (DiscoConference *conf)
{
  if (conf->flush_source == 0)
    conf->flush_source = g_timeout_add (FLUSH_DELAY_MS, flush_cb, conf);
}

/* Walks the endpoints other foci report; returns the focus serving a
 * matching endpoint. */
const char *
disco_conference_find_remote_session (DiscoConference *conf, const char *session_id,
                                      const char *call_id)
{
  for (guint i = 0; i < conf->peers->len; i++)
    {
      DiscoPeerLink *link = g_ptr_array_index (conf->peers, i);
      if (link->view == NULL)
        continue;
      xmlNode *users = disco_ci_find (xmlDocGetRootElement (link->view), DISCO_CI_NS, "users");
      for (xmlNode *u = users ? users->children : NULL; u; u = u->next)
        for (xmlNode *e = u->children; e; e = e->next)
          {
            if (e->type != XML_ELEMENT_NODE || !xmlStrEqual (e->name, (const xmlChar *)"endpoint"))
              continue;
            g_autofree char *sid = disco_ci_child_text (e, DISCO_DC_NS, "session-id");
            g_autofree char *served = disco_ci_child_text (e, DISCO_DC_NS, "served-by");
            xmlNode *ci = disco_ci_find (e, DISCO_CI_NS, "call-info");
            xmlNode *sip = disco_ci_find (ci, DISCO_CI_NS, "sip");
            g_autofree char *cid = disco_ci_child_text (sip, DISCO_CI_NS, "call-id");
            /* Only endpoints that peer itself serves: its document also
             * repeats what it learnt from us. */
            if (g_strcmp0 (served, link->peer_uri) != 0)
              continue;
            if ((session_id && sid && g_ascii_strcasecmp (sid, session_id) == 0)
                || (call_id && cid && g_str_equal (cid, call_id)))
              return link->peer_uri;
          }
    }
  return NULL;
}

void
disco_conference_match_delegated (DiscoConference *conf)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, conf->participants);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      DiscoParticipant *p = v;
      if (p->session_id == NULL || p->remote_focus != NULL)
        continue;
      const char *from = disco_conference_find_remote_session (conf, p->session_id, NULL);
      if (from)
        {
          g_info ("%s: recognised as delegated from %s", p->id, from);
          p->remote_focus = g_strdup (from);
          disco_conference_changed (conf);
        }
    }
}

/* A peer that announced "leaving" (or is reported "failed") is no target
 * for delegation: it would REFER the participant on again. */
static guint
peer_load (DiscoPeerLink *link, guint *capacity)
{
  *capacity = 0;
  if (link->view == NULL)
    return 0;
  xmlNode *foci = disco_ci_find (xmlDocGetRootElement (link->view), DISCO_DC_NS, "foci");
  for (xmlNode *f = foci ? foci->children : NULL; f; f = f->next)
    {
      xmlChar *uri = xmlGetProp (f, (const xmlChar *)"uri");
      gboolean me = uri && g_str_equal ((const char *)uri, link->peer_uri);
      xmlFree (uri);
      if (!me)
        continue;
      xmlChar *state = xmlGetProp (f, (const xmlChar *)"state");
      gboolean usable = state == NULL || xmlStrcmp (state, (const xmlChar *)"active") == 0
                        || xmlStrcmp (state, (const xmlChar *)"full") == 0;
      xmlFree (state);
      if (!usable)
        return 0;
      g_autofree char *cap = disco_ci_child_text (f, DISCO_DC_NS, "capacity");
      g_autofree char *load = disco_ci_child_text (f, DISCO_DC_NS, "load");
      *capacity = cap ? (guint)g_ascii_strtoull (cap, NULL, 10) : 0;
      return load ? (guint)g_ascii_strtoull (load, NULL, 10) : 0;
    }
  return 0;
}

/* The least loaded peer focus with room left, known from its own
 * conference-info (dc:foci). */
DiscoPeerLink *
disco_conference_pick_peer (DiscoConference *conf)
{
  DiscoPeerLink *best = NULL;
  double best_ratio = 2.0;
  for (guint i = 0; i < conf->peers->len; i++)
    {
      DiscoPeerLink *link = g_ptr_array_index (conf->peers, i);
      guint cap = 0, load;
      if (!link->active || link->view == NULL)
        continue;
      load = peer_load (link, &cap);
      if (cap == 0 || load >= cap)
        continue;
      double ratio = (double)load / cap;
      if (ratio < best_ratio)
        {
          best = link;
          best_ratio = ratio;
        }
    }
  return best;
}

static json_object *
str_or_null (const char *s)
{
  return s ? json_object_new_string (s) : NULL;
}

void
disco_conference_add_status (DiscoConference *conf, json_object *obj)
{
  json_object *parts = json_object_new_array ();
  json_object *subs = json_object_new_array ();
  json_object *peers = json_object_new_array ();
  gint64 now = g_get_monotonic_time ();
  const char *me = disco_sip_agent_focus_uri (conf->agent);

  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, conf->participants);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      DiscoParticipant *p = v;
      json_object *o = json_object_new_object ();
      double loss = 0;
      gboolean talking = FALSE;
      guint64 pkts = 0;
      disco_conference_media_stats (conf->media, p, &loss, &talking, &pkts);
      json_object_object_add (o, "id", json_object_new_string (p->id));
      json_object_object_add (o, "uri", str_or_null (p->aor));
      json_object_object_add (o, "display", str_or_null (p->display));
      json_object_object_add (o, "codec",
                              json_object_new_string (disco_sdp_codec_name (p->media.codec)));
      json_object_object_add (o, "duration_seconds",
                              json_object_new_double ((now - p->joined_us) / 1e6));
      json_object_object_add (o, "loss_percent", json_object_new_double (loss));
      json_object_object_add (o, "talking", json_object_new_boolean (talking));
      json_object_object_add (o, "focus", json_object_new_string (me));
      json_object_object_add (o, "local", json_object_new_boolean (TRUE));
      json_object_object_add (o, "status", json_object_new_string (p->status));
      json_object_object_add (o, "joining_method", json_object_new_string (p->joining_method));
      json_object_object_add (o, "session_id", str_or_null (p->session_id));
      json_object_object_add (o, "delegated_from", str_or_null (p->remote_focus));
      json_object_object_add (o, "delegating_to", str_or_null (p->delegating_to));
      json_object_object_add (o, "delegations_failed",
                              json_object_new_int ((int)p->delegations_failed));
      json_object_object_add (o, "rtp_packets_in", json_object_new_int64 ((int64_t)pkts));
      guint64 vin = 0, vout = 0;
      if (disco_conference_media_video_stats (conf->media, p, &vin, &vout))
        {
          json_object *vo = json_object_new_object ();
          json_object_object_add (
              vo, "codec",
              json_object_new_string (disco_sdp_video_codec_name (p->media.video_codec)));
          json_object_object_add (vo, "packets_in", json_object_new_int64 ((int64_t)vin));
          json_object_object_add (vo, "packets_out", json_object_new_int64 ((int64_t)vout));
          json_object_object_add (o, "video", vo);
        }
      json_object_array_add (parts, o);
    }

  DiscoAdmission *adm = disco_sip_agent_admission (conf->agent);
  json_object *ao = json_object_new_object ();
  json_object_object_add (ao, "rejected", json_object_new_int64 ((int64_t)conf->rejected_overload));
  json_object_object_add (ao, "lag_ms", json_object_new_double (disco_admission_lag_ms (adm)));
  json_object_object_add (ao, "max_join_rate",
                          json_object_new_int ((int)disco_admission_max_join_rate (adm)));
  json_object_object_add (obj, "admission", ao);

  /* Participants other foci serve, from their conference-info. */
  for (guint i = 0; i < conf->peers->len; i++)
    {
      DiscoPeerLink *link = g_ptr_array_index (conf->peers, i);
      json_object *po = json_object_new_object ();
      json_object_object_add (po, "uri", json_object_new_string (link->peer_uri));
      json_object_object_add (po, "active", json_object_new_boolean (link->active));
      json_object_object_add (
          po, "version", json_object_new_int64 (link->view ? disco_ci_version (link->view) : 0));
      json_object_object_add (po, "notifies", json_object_new_int ((int)link->notifies));
      json_object_object_add (po, "refreshes", json_object_new_int ((int)link->refreshes));
      json_object_array_add (peers, po);
      if (link->view == NULL)
        continue;
      xmlNode *users = disco_ci_find (xmlDocGetRootElement (link->view), DISCO_CI_NS, "users");
      for (xmlNode *u = users ? users->children : NULL; u; u = u->next)
        for (xmlNode *e = u->children; e; e = e->next)
          {
            if (e->type != XML_ELEMENT_NODE || !xmlStrEqual (e->name, (const xmlChar *)"endpoint"))
              continue;
            g_autofree char *served = disco_ci_child_text (e, DISCO_DC_NS, "served-by");
            if (g_strcmp0 (served, link->peer_uri) != 0)
              continue;
            xmlChar *entity = xmlGetProp (u, (const xmlChar *)"entity");
            g_autofree char *codec = disco_ci_child_text (e, DISCO_DC_NS, "codec");
            g_autofree char *status = disco_ci_child_text (e, DISCO_CI_NS, "status");
            json_object *o = json_object_new_object ();
            json_object_object_add (o, "uri", str_or_null ((const char *)entity));
            json_object_object_add (o, "codec", str_or_null (codec));
            json_object_object_add (o, "duration_seconds", NULL);
            json_object_object_add (o, "loss_percent", NULL);
            json_object_object_add (o, "talking", NULL);
            json_object_object_add (o, "focus", json_object_new_string (link->peer_uri));
            json_object_object_add (o, "local", json_object_new_boolean (FALSE));
            json_object_object_add (o, "status", str_or_null (status));
            json_object_array_add (parts, o);
            xmlFree (entity);
          }
    }

  for (guint i = 0; i < conf->subscriptions->len; i++)
    {
      DiscoSubscription *s = g_ptr_array_index (conf->subscriptions, i);
      json_object *o = json_object_new_object ();
      json_object_object_add (o, "subscriber", str_or_null (s->subscriber));
      json_object_object_add (o, "version", json_object_new_int64 (s->version));
      json_object_object_add (o, "focus", json_object_new_boolean (s->is_focus));
      json_object_array_add (subs, o);
    }
  json_object_object_add (obj, "session_id", json_object_new_string (conf->uuid));
  json_object_object_add (obj, "participants", parts);
  json_object_object_add (obj, "subscriptions", subs);
  json_object_object_add (obj, "peers", peers);
  json_object_object_add (obj, "rtp_port",
                          json_object_new_int ((int)disco_conference_media_port (conf->media)));
}
