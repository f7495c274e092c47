/* sip-call.c: INVITE dialogs of the focus: admission, SDP answer, focus
 * identity (isfocus Contact, Record-Route, Session-ID), re-INVITE/UPDATE,
 * OPTIONS and RFC 4579 dial-out. */
#define G_LOG_DOMAIN "disco-call"

#include "conference.h"
#include "sip-admission.h"

#include <sofia-sip/msg_header.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag_io.h>
#include <string.h>

#define NIL_UUID "00000000000000000000000000000000"
#define ALLOW_EVENTS "conference, refer"
#define ALLOW "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, REFER, SUBSCRIBE, NOTIFY"
#define RETRY_AFTER "30"
/* Overload passes in seconds, not minutes. */
#define RETRY_AFTER_OVERLOAD "2"

const char *
disco_sip_find_header (sip_t const *sip, const char *name)
{
  for (sip_unknown_t const *u = sip ? sip->sip_unknown : NULL; u; u = u->un_next)
    if (u->un_name && g_ascii_strcasecmp (u->un_name, name) == 0)
      return u->un_value;
  return NULL;
}

char *
disco_sip_session_uuid (sip_t const *sip)
{
  const char *v = disco_sip_find_header (sip, "Session-ID");
  if (v == NULL)
    return NULL;
  while (*v == ' ')
    v++;
  gsize n = strspn (v, "0123456789abcdefABCDEF");
  if (n != 32)
    return NULL;
  return g_ascii_strdown (v, 32);
}

static char *
url_string (url_t const *url)
{
  if (url == NULL)
    return NULL;
  char *s = url_as_string (NULL, url);
  char *out = g_strdup (s);
  su_free (NULL, s);
  return out;
}

/* Our Record-Route on top of any the request collected: nta copies the
 * request's RR into the response only when the response has none. */
static char *
record_route (DiscoConference *conf, sip_t const *sip)
{
  GString *rr = g_string_new (NULL);
  g_string_append_printf (rr, "<sip:%s;lr>", disco_sip_agent_hostport (conf->agent));
  su_home_t home[1] = { SU_HOME_INIT (home) };
  for (sip_record_route_t const *r = sip->sip_record_route; r; r = r->r_next)
    {
      sip_record_route_t one = *r;
      one.r_next = NULL;
      char *s = sip_header_as_string (home, (sip_header_t const *)&one);
      if (s)
        g_string_append_printf (rr, ", %s", s);
    }
  su_home_deinit (home);
  return g_string_free (rr, FALSE);
}

static char *
session_id_header (DiscoConference *conf, const char *remote)
{
  return g_strdup_printf ("Session-ID: %s;remote=%s", conf->uuid, remote ? remote : NIL_UUID);
}

static gboolean
allows_refer (sip_t const *sip)
{
  for (msg_list_t const *a = (msg_list_t const *)sip->sip_allow; a; a = a->k_next)
    for (msg_param_t const *i = a->k_items; i && *i; i++)
      if (g_ascii_strcasecmp (*i, "REFER") == 0)
        return TRUE;
  return FALSE;
}

static gboolean is_sdp (sip_t const *sip);

/* @offer: the request whose SDP we answer (NULL when we offer); a video
 * stream in it brings the conference's video room into being. */
static void
local_sdp (DiscoConference *conf, DiscoParticipant *p, sip_t const *offer, DiscoSdpLocal *out)
{
  const DiscoFocusConfig *config = disco_sip_agent_config (conf->agent);
  if (p->sdp_version == 0)
    p->sdp_version = disco_sip_agent_next_sdp_session (conf->agent);
  out->address = config->rtp_address;
  out->port = disco_conference_media_port (conf->media);
  out->video_port = 0;
  if (offer && is_sdp (offer)
      && disco_sdp_offers_video (offer->sip_payload->pl_data, offer->sip_payload->pl_len))
    out->video_port = disco_conference_media_video_port (conf->media, TRUE);
  out->session_id = p->sdp_version;
  out->session_version = p->sdp_version++;
}

static gboolean
is_sdp (sip_t const *sip)
{
  return sip->sip_payload && sip->sip_payload->pl_len > 0
         && (sip->sip_content_type == NULL
             || g_ascii_strcasecmp (sip->sip_content_type->c_type, "application/sdp") == 0);
}

static void
reject_sdp (nua_handle_t *nh, GError *error, tagi_t const *with)
{
  /* The Warning text is a quoted-string: no '"' or '\\' inside. */
  g_autofree char *text = g_strdelimit (g_strdup (error->message), "\"\\", '\'');
  g_autofree char *warning = g_strdup_printf ("399 disco \"%s\"", text);
  nua_respond (nh, SIP_488_NOT_ACCEPTABLE, SIPTAG_WARNING_STR (warning), TAG_NEXT (with));
}

static void
fill_identity (DiscoParticipant *p, sip_t const *sip)
{
  p->aor = url_string (sip->sip_from ? sip->sip_from->a_url : NULL);
  if (sip->sip_from && sip->sip_from->a_display)
    {
      p->display = g_strdup (sip->sip_from->a_display);
      g_strstrip (g_strdelimit (p->display, "\"", ' '));
    }
  p->contact = url_string (sip->sip_contact ? sip->sip_contact->m_url : NULL);
  p->call_id = g_strdup (sip->sip_call_id ? sip->sip_call_id->i_id : NULL);
  p->from_tag = g_strdup (sip->sip_from ? sip->sip_from->a_tag : NULL);
  p->session_id = disco_sip_session_uuid (sip);
  p->allows_refer = allows_refer (sip);
  if (sip->sip_referred_by)
    p->referred_by = url_string (sip->sip_referred_by->b_url);
}

/* Over capacity: REFER to a peer focus when the caller can follow it,
 * else redirect (302) to the peer, else 503. */
static gboolean
admit (DiscoConference *conf, nua_handle_t *nh, sip_t const *sip, char **delegate_to)
{
  const DiscoFocusConfig *config = disco_sip_agent_config (conf->agent);
  if (disco_sip_agent_participant_count (conf->agent) < config->max_participants)
    return TRUE;
  DiscoPeerLink *peer = disco_conference_pick_peer (conf);
  if (peer && allows_refer (sip))
    {
      *delegate_to = g_strdup (peer->peer_uri);
      return TRUE;
    }
  if (peer)
    {
      g_autofree char *contact = g_strdup_printf ("<sip:%s@%s>", conf->user, peer->peer_uri + 4);
      nua_respond (nh, SIP_302_MOVED_TEMPORARILY, SIPTAG_CONTACT_STR (contact), TAG_END ());
      return FALSE;
    }
  nua_respond (nh, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR (RETRY_AFTER), TAG_END ());
  return FALSE;
}

/* Load (join rate, main-loop lag): refuse at once, before any work.  A
 * peer focus with room takes the caller by redirect (no REFER: that would
 * need a dialog, i.e. the work being avoided). */
static gboolean
admit_load (DiscoConference *conf, nua_handle_t *nh)
{
  DiscoAdmitVerdict v = disco_admission_check (disco_sip_agent_admission (conf->agent));
  if (v == DISCO_ADMIT_OK)
    return TRUE;
  conf->rejected_overload++;
  DiscoPeerLink *peer = disco_conference_pick_peer (conf);
  if (peer)
    {
      g_autofree char *contact = g_strdup_printf ("<sip:%s@%s>", conf->user, peer->peer_uri + 4);
      nua_respond (nh, SIP_302_MOVED_TEMPORARILY, SIPTAG_CONTACT_STR (contact), TAG_END ());
      return FALSE;
    }
  nua_respond (nh, SIP_503_SERVICE_UNAVAILABLE, SIPTAG_RETRY_AFTER_STR (RETRY_AFTER_OVERLOAD),
               SIPTAG_WARNING_STR (v == DISCO_ADMIT_LAG ? "399 disco \"overloaded\""
                                                        : "399 disco \"join rate limit\""),
               TAG_END ());
  return FALSE;
}

static void
respond_ok (DiscoParticipant *p, sip_t const *sip, const char *sdp)
{
  DiscoConference *conf = p->conf;
  g_autofree char *rr = record_route (conf, sip);
  g_autofree char *sid = session_id_header (conf, p->session_id);

  g_free (p->local_sdp);
  p->local_sdp = g_strdup (sdp);
  nua_respond (p->nh, SIP_200_OK, SIPTAG_CONTACT_STR (conf->contact), SIPTAG_RECORD_ROUTE_STR (rr),
               SIPTAG_HEADER_STR (sid), SIPTAG_ALLOW_EVENTS_STR (ALLOW_EVENTS),
               SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (sdp), TAG_END ());
}

static void
reinvite (DiscoParticipant *p, nua_handle_t *nh, sip_t const *sip)
{
  DiscoConference *conf = p->conf;
  g_autoptr (GError) error = NULL;
  DiscoSdpLocal local;

  if (!is_sdp (sip))
    {
      /* No offer (e.g. a session refresh): our SDP is the offer and the
       * answer comes in the ACK (RFC 3261 §14.2). */
      p->late_offer = TRUE;
      nua_respond (nh, SIP_200_OK, SIPTAG_CONTACT_STR (conf->contact),
                   SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (p->local_sdp),
                   TAG_END ());
      return;
    }
  DiscoSdpMedia media;
  local_sdp (conf, p, sip, &local);
  g_autofree char *answer = disco_sdp_answer (sip->sip_payload->pl_data, sip->sip_payload->pl_len,
                                              &local, &media, &error);
  if (answer == NULL)
    {
      reject_sdp (nh, error, NULL);
      return;
    }
  disco_sdp_media_clear (&p->media);
  p->media = media;
  p->status = media.on_hold ? "on-hold" : "connected";
  if (p->in_room && !disco_conference_media_update (conf->media, p, &error))
    g_warning ("%s: media update failed: %s", p->id, error->message);
  g_free (p->local_sdp);
  p->local_sdp = g_strdup (answer);
  nua_respond (nh, SIP_200_OK, SIPTAG_CONTACT_STR (conf->contact),
               SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (answer),
               TAG_END ());
  disco_conference_changed (conf);
}

void
disco_call_incoming_invite (DiscoSipAgent *agent, nua_handle_t *nh, DiscoParticipant *existing,
                            sip_t const *sip, tagi_t tags[])
{
  nua_t *nua = disco_sip_agent_nua (agent);
  g_autoptr (GError) error = NULL;

  if (existing)
    {
      reinvite (existing, nh, sip);
      return;
    }
  DiscoConference *conf
      = disco_sip_agent_find_conference (agent, sip->sip_request ? sip->sip_request->rq_url : NULL);
  if (conf == NULL)
    {
      nua_respond (nh, SIP_404_NOT_FOUND, TAG_END ());
      return;
    }

  /* Replaces (RFC 3891): a dialog of ours, or one another focus reports. */
  nua_handle_t *replaced = NULL;
  const char *from_focus = NULL;
  if (sip->sip_replaces)
    {
      replaced = nua_handle_by_replaces (nua, sip->sip_replaces);
      if (replaced == NULL)
        from_focus
            = disco_conference_find_remote_session (conf, NULL, sip->sip_replaces->rp_call_id);
      if (replaced == NULL && from_focus == NULL)
        {
          nua_respond (nh, SIP_481_NO_TRANSACTION, TAG_END ());
          return;
        }
    }

  /* A delegated participant arriving is admitted: it leaves another
   * focus, and refusing it would drop it. */
  g_autofree char *arriving_sid = disco_sip_session_uuid (sip);
  gboolean delegated
      = replaced || from_focus
        || (arriving_sid && disco_conference_find_remote_session (conf, arriving_sid, NULL));
  if (!delegated && !admit_load (conf, nh))
    return;

  g_autofree char *delegate_to = NULL;
  if (!delegated && !admit (conf, nh, sip, &delegate_to))
    return;

  DiscoSdpMedia media = { 0 };
  DiscoSdpLocal local = { 0 };
  g_autofree char *sdp = NULL;
  gboolean late = !is_sdp (sip);
  if (sip->sip_payload && sip->sip_payload->pl_len > 0 && late)
    {
      nua_respond (nh, SIP_415_UNSUPPORTED_MEDIA, SIPTAG_ACCEPT_STR ("application/sdp"),
                   TAG_END ());
      if (replaced)
        nua_handle_unref (replaced);
      return;
    }

  DiscoParticipant *p = disco_participant_new (conf, nh);
  p->replaces = replaced;
  p->pending_delegate = g_steal_pointer (&delegate_to);
  fill_identity (p, sip);
  local_sdp (conf, p, late ? NULL : sip, &local);
  if (late)
    {
      p->late_offer = TRUE;
      sdp = disco_sdp_offer (&local);
    }
  else
    {
      sdp = disco_sdp_answer (sip->sip_payload->pl_data, sip->sip_payload->pl_len, &local, &media,
                              &error);
      if (sdp == NULL)
        {
          g_info ("%s: rejecting offer: %s", p->id, error->message);
          reject_sdp (nh, error, NULL);
          nua_handle_bind (nh, NULL);
          disco_participant_remove (p);
          return;
        }
      p->media = media;
      /* The replacing call usually comes from the same device and media
       * address: take the replaced one out of the room first. */
      DiscoParticipant *old = replaced ? nua_handle_magic (replaced) : NULL;
      if (old && old->kind == DISCO_HANDLE_PARTICIPANT && old->conf == conf && old->in_room)
        {
          disco_conference_media_remove (conf->media, old);
          old->in_room = FALSE;
        }
      if (!disco_conference_media_add (conf->media, p, &error))
        {
          g_warning ("%s: media room refused the participant: %s", p->id, error->message);
          nua_respond (nh, SIP_500_INTERNAL_SERVER_ERROR, TAG_END ());
          nua_handle_bind (nh, NULL);
          disco_participant_remove (p);
          return;
        }
      p->in_room = TRUE;
    }

  if (p->session_id && from_focus == NULL)
    from_focus = disco_conference_find_remote_session (conf, p->session_id, NULL);
  if (from_focus)
    {
      p->remote_focus = g_strdup (from_focus);
      g_info ("%s: delegated participant arriving from %s", p->id, from_focus);
    }
  p->status = media.on_hold ? "on-hold" : "connected";
  p->answered = TRUE;
  respond_ok (p, sip, sdp);
  disco_conference_changed (conf);
}

void
disco_call_ack (DiscoParticipant *p, sip_t const *sip)
{
  g_autoptr (GError) error = NULL;
  if (!p->late_offer || sip == NULL || !is_sdp (sip))
    return;
  p->late_offer = FALSE;
  DiscoSdpMedia media;
  if (!disco_sdp_parse_answer (sip->sip_payload->pl_data, sip->sip_payload->pl_len, &media, &error))
    {
      g_info ("%s: unusable SDP answer in ACK: %s", p->id, error->message);
      nua_bye (p->nh, SIPTAG_REASON_STR ("SIP;cause=488;text=\"Not Acceptable Here\""), TAG_END ());
      return;
    }
  disco_sdp_media_clear (&p->media);
  p->media = media;
  p->status = media.on_hold ? "on-hold" : "connected";
  if (p->in_room)
    {
      /* The answer to the offer of an offerless re-INVITE. */
      if (!disco_conference_media_update (p->conf->media, p, &error))
        g_warning ("%s: media update failed: %s", p->id, error->message);
    }
  else if (disco_conference_media_add (p->conf->media, p, &error))
    p->in_room = TRUE;
  else
    g_warning ("%s: media room refused the participant: %s", p->id, error->message);
  disco_conference_changed (p->conf);
}

void
disco_call_state (DiscoParticipant *p, int status, sip_t const *sip, tagi_t tags[])
{
  int state = nua_callstate_init;
  tl_gets (tags, NUTAG_CALLSTATE_REF (state), TAG_END ());

  if ((state == nua_callstate_ready || state == nua_callstate_completed) && p->to_tag == NULL)
    {
      /* Built as the peer sees the dialog: its from-tag is our local tag. */
      su_home_t home[1] = { SU_HOME_INIT (home) };
      sip_replaces_t *r = nua_handle_make_replaces (p->nh, home, 0);
      if (r && r->rp_from_tag)
        {
          if (g_str_equal (p->joining_method, "dialed-out"))
            {
              g_free (p->from_tag);
              p->from_tag = g_strdup (r->rp_from_tag);
              p->to_tag = g_strdup (r->rp_to_tag);
            }
          else
            p->to_tag = g_strdup (r->rp_from_tag);
          disco_conference_changed (p->conf);
        }
      su_home_deinit (home);
    }
  if (state == nua_callstate_ready)
    {
      if (p->replaces)
        {
          /* RFC 3891 §3: the replaced dialog ends once the new one is up. */
          nua_bye (p->replaces, SIPTAG_REASON_STR ("SIP;cause=200;text=\"Replaced\""), TAG_END ());
          g_clear_pointer (&p->replaces, nua_handle_unref);
        }
      if (p->pending_delegate)
        {
          g_autofree char *to = g_steal_pointer (&p->pending_delegate);
          disco_refer_delegate (p, to);
        }
    }
}

void
disco_call_update (DiscoParticipant *p, nua_handle_t *nh, sip_t const *sip)
{
  DiscoConference *conf = p->conf;
  nua_t *nua = disco_sip_agent_nua (conf->agent);
  g_autoptr (GError) error = NULL;

  if (sip == NULL || !is_sdp (sip))
    {
      nua_respond (nh, SIP_200_OK, NUTAG_WITH_THIS (nua), SIPTAG_CONTACT_STR (conf->contact),
                   TAG_END ());
      return;
    }
  DiscoSdpLocal local;
  DiscoSdpMedia media;
  local_sdp (conf, p, sip, &local);
  g_autofree char *answer = disco_sdp_answer (sip->sip_payload->pl_data, sip->sip_payload->pl_len,
                                              &local, &media, &error);
  if (answer == NULL)
    {
      tagi_t with[] = { { NUTAG_WITH_THIS (nua) }, { TAG_END () } };
      reject_sdp (nh, error, with);
      return;
    }
  disco_sdp_media_clear (&p->media);
  p->media = media;
  p->status = media.on_hold ? "on-hold" : "connected";
  if (p->in_room && !disco_conference_media_update (conf->media, p, &error))
    g_warning ("%s: media update failed: %s", p->id, error->message);
  g_free (p->local_sdp);
  p->local_sdp = g_strdup (answer);
  nua_respond (nh, SIP_200_OK, NUTAG_WITH_THIS (nua), SIPTAG_CONTACT_STR (conf->contact),
               SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (answer),
               TAG_END ());
  disco_conference_changed (conf);
}

void
disco_call_options (DiscoSipAgent *agent, nua_handle_t *nh, sip_t const *sip)
{
  nua_t *nua = disco_sip_agent_nua (agent);
  url_t const *url = sip && sip->sip_request ? sip->sip_request->rq_url : NULL;
  DiscoConference *conf = disco_sip_agent_find_conference (agent, url);
  g_autofree char *contact = NULL;

  if (conf == NULL && url && url->url_user && *url->url_user)
    {
      nua_respond (nh, SIP_404_NOT_FOUND, NUTAG_WITH_THIS (nua), TAG_END ());
      return;
    }
  /* RFC 4579 §4.3: a focus puts isfocus on the Contact of its OPTIONS 200. */
  contact = conf ? g_strdup (conf->contact)
                 : g_strdup_printf ("<sip:%s>", disco_sip_agent_hostport (agent));
  nua_respond (nh, SIP_200_OK, NUTAG_WITH_THIS (nua), SIPTAG_CONTACT_STR (contact),
               SIPTAG_ALLOW_STR (ALLOW), SIPTAG_ALLOW_EVENTS_STR (ALLOW_EVENTS),
               SIPTAG_ACCEPT_STR ("application/sdp, application/conference-info+xml, "
                                  "message/sipfrag"),
               SIPTAG_SUPPORTED_STR ("replaces, timer"), TAG_END ());
}

void
disco_call_invite_response (DiscoParticipant *p, int status, sip_t const *sip)
{
  g_autoptr (GError) error = NULL;
  if (status >= 200 && p->notify_refer)
    {
      /* The final sipfrag for the REFER that asked for this dial-out
       * (RFC 3515 §2.4.5); nua already sent the initial "100 Trying". */
      g_autofree char *frag
          = g_strdup_printf ("SIP/2.0 %d %s\r\n", status,
                             sip && sip->sip_status ? sip->sip_status->st_phrase : "Final");
      nua_notify (p->notify_refer, NUTAG_SUBSTATE (nua_substate_terminated),
                  TAG_IF (p->refer_event, SIPTAG_EVENT_STR (p->refer_event)),
                  SIPTAG_SUBSCRIPTION_STATE_STR ("terminated;reason=noresource"),
                  SIPTAG_CONTENT_TYPE_STR ("message/sipfrag;version=2.0"),
                  SIPTAG_PAYLOAD_STR (frag), TAG_END ());
      g_clear_pointer (&p->notify_refer, nua_handle_unref);
    }
  if (status < 200 || status >= 300)
    {
      if (status >= 300)
        p->status = "disconnected";
      else if (status == 180 || status == 183)
        p->status = "alerting";
      return;
    }
  if (p->call_id == NULL && sip && sip->sip_call_id)
    p->call_id = g_strdup (sip->sip_call_id->i_id);
  DiscoSdpMedia media;
  if (sip == NULL || !is_sdp (sip)
      || !disco_sdp_parse_answer (sip->sip_payload->pl_data, sip->sip_payload->pl_len, &media,
                                  &error))
    {
      g_info ("%s: dial-out answer unusable: %s", p->id, error ? error->message : "no SDP");
      nua_bye (p->nh, TAG_END ());
      return;
    }
  p->media = media;
  p->status = media.on_hold ? "on-hold" : "connected";
  p->answered = TRUE;
  if (disco_conference_media_add (p->conf->media, p, &error))
    p->in_room = TRUE;
  else
    g_warning ("%s: media room refused the participant: %s", p->id, error->message);
  disco_conference_changed (p->conf);
}

gboolean
disco_call_dial_out (DiscoConference *conf, const char *target, nua_handle_t *refer_nh,
                     tagi_t tags[])
{
  nua_t *nua = disco_sip_agent_nua (conf->agent);
  sip_event_t const *event = NULL;
  sip_referred_by_t const *by = NULL;
  tl_gets (tags, NUTAG_REFER_EVENT_REF (event), SIPTAG_REFERRED_BY_REF (by), TAG_END ());

  g_autofree char *from = g_strdup_printf ("<%s>", conf->uri);
  nua_handle_t *nh = nua_handle (nua, NULL, NUTAG_URL (target), SIPTAG_TO_STR (target),
                                 SIPTAG_FROM_STR (from), TAG_END ());
  if (nh == NULL)
    return FALSE;
  DiscoParticipant *p = disco_participant_new (conf, nh);
  p->joining_method = "dialed-out";
  p->status = "dialing-out";
  p->aor = g_strdup (target);
  p->contact = g_strdup (target);
  if (by)
    p->referred_by = url_string (by->b_url);
  DiscoSdpLocal local;
  local_sdp (conf, p, NULL, &local);
  g_autofree char *offer = disco_sdp_offer (&local);
  g_autofree char *sid = session_id_header (conf, NULL);
  p->local_sdp = g_strdup (offer);
  /* No Record-Route of our own on a UAC request: it would enter our own
   * route set (sip.md §4.4).  The Contact routes back to this peer. */
  if (refer_nh)
    {
      p->notify_refer = nua_handle_ref (refer_nh);
      if (event)
        {
          su_home_t home[1] = { SU_HOME_INIT (home) };
          p->refer_event = g_strdup (sip_header_as_string (home, (sip_header_t const *)event));
          su_home_deinit (home);
        }
    }
  nua_invite (nh, SIPTAG_CONTACT_STR (conf->contact), SIPTAG_HEADER_STR (sid),
              SIPTAG_ALLOW_EVENTS_STR (ALLOW_EVENTS), TAG_IF (by, SIPTAG_REFERRED_BY (by)),
              SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (offer), TAG_END ());
  p->call_id = NULL;
  disco_conference_changed (conf);
  return TRUE;
}
