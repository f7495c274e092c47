/* refer.c: REFER in both directions.
 *
 * Sending (DisCo call delegation, sip.md §3.2 flow A): the focus REFERs a
 * participant, inside its dialog, to another focus of the same conference,
 * with Referred-By the conference URI and a Session-ID (RFC 7989).  The
 * sipfrag NOTIFYs tell whether the participant reached the other focus:
 * on 2xx we hang up our leg, on failure the participant stays here.
 *
 * Receiving (RFC 4579): a REFER to the conference URI asks the focus to
 * dial out to the Refer-To URI (progress reported by nua as sipfrag
 * NOTIFYs), or, with ;method=BYE, to remove that participant.
 */
#define G_LOG_DOMAIN "disco-refer"

#include "conference.h"

#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/url.h>
#include <stdio.h>

/* The referee's INVITE to the other focus ends within 64*T1 (32 s, Timer
 * B) at the latest, and its final NOTIFY follows: past that, and a margin,
 * the REFER failed without telling us. */
#define REFER_FINAL_TIMEOUT_S 40

static void
delegation_failed (DiscoParticipant *p, int code)
{
  g_info ("%s: delegation to %s failed (%d); keeping the participant", p->id, p->delegating_to,
          code);
  g_clear_pointer (&p->delegating_to, g_free);
  g_clear_handle_id (&p->refer_timer, g_source_remove);
  p->delegations_failed++;
  disco_conference_changed (p->conf);
}

static gboolean
on_refer_timeout (gpointer data)
{
  DiscoParticipant *p = data;
  p->refer_timer = 0;
  g_info ("%s: no final NOTIFY for the REFER in %d s", p->id, REFER_FINAL_TIMEOUT_S);
  delegation_failed (p, 408);
  return G_SOURCE_REMOVE;
}

gboolean
disco_refer_delegate (DiscoParticipant *p, const char *peer_uri)
{
  DiscoConference *conf = p->conf;
  if (p->nh == NULL || p->delegating_to)
    return FALSE;
  g_autofree char *refer_to = g_strdup_printf ("<sip:%s@%s>", conf->user, peer_uri + 4);
  g_autofree char *by = g_strdup_printf ("<%s>", conf->uri);
  g_autofree char *sid
      = g_strdup_printf ("Session-ID: %s;remote=%s", conf->uuid,
                         p->session_id ? p->session_id : "00000000000000000000000000000000");
  /* The target focus should know the participant (Session-ID, dialog)
   * before the participant arrives there (disco.md §5.5). */
  if (conf->flush_source)
    {
      g_source_remove (conf->flush_source);
      conf->flush_source = 0;
    }
  disco_notify_flush (conf);
  g_info ("%s: delegating to %s", p->id, peer_uri);
  p->delegating_to = g_strdup (peer_uri);
  nua_refer (p->nh, SIPTAG_REFER_TO_STR (refer_to), SIPTAG_REFERRED_BY_STR (by),
             SIPTAG_HEADER_STR (sid), TAG_END ());
  p->refer_timer = g_timeout_add_seconds (REFER_FINAL_TIMEOUT_S, on_refer_timeout, p);
  return TRUE;
}

void
disco_refer_progress (DiscoParticipant *p, int status, sip_t const *sip)
{
  int code = status;

  if (p->delegating_to == NULL)
    return;
  if (sip)
    {
      /* A NOTIFY: only refer progress matters, its body a sipfrag. */
      if (sip->sip_event == NULL || g_strcmp0 (sip->sip_event->o_type, "refer") != 0)
        return;
      code = 0;
      if (sip->sip_payload && sip->sip_payload->pl_len > 12)
        {
          g_autofree char *line
              = g_strndup (sip->sip_payload->pl_data, MIN (sip->sip_payload->pl_len, 64));
          if (sscanf (line, "SIP/2.0 %d", &code) != 1)
            code = 0;
        }
    }
  if (code < 200)
    return;
  if (code < 300)
    {
      g_clear_handle_id (&p->refer_timer, g_source_remove);
      g_info ("%s: delegation to %s succeeded; leaving the call to it", p->id, p->delegating_to);
      p->status = "disconnecting";
      nua_bye (p->nh, SIPTAG_REASON_STR ("SIP;cause=200;text=\"Delegated\""), TAG_END ());
      disco_conference_changed (p->conf);
      return;
    }
  delegation_failed (p, code);
}

static DiscoParticipant *
find_by_uri (DiscoConference *conf, url_t const *target)
{
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, conf->participants);
  while (g_hash_table_iter_next (&it, NULL, &v))
    {
      DiscoParticipant *p = v;
      su_home_t home[1] = { SU_HOME_INIT (home) };
      gboolean match = FALSE;
      for (int i = 0; i < 2 && !match; i++)
        {
          const char *s = i == 0 ? p->aor : p->contact;
          url_t *u = s ? url_make (home, s) : NULL;
          match = u && g_strcmp0 (u->url_user, target->url_user) == 0
                  && g_strcmp0 (u->url_host, target->url_host) == 0;
        }
      su_home_deinit (home);
      if (match)
        return p;
    }
  return NULL;
}

void
disco_refer_incoming (DiscoSipAgent *agent, nua_handle_t *nh, void *hmagic, sip_t const *sip,
                      tagi_t tags[])
{
  nua_t *nua = disco_sip_agent_nua (agent);
  DiscoConference *conf = NULL;

  if (sip == NULL)
    return;
  if (hmagic && *(DiscoHandleKind *)hmagic == DISCO_HANDLE_PARTICIPANT)
    conf = ((DiscoParticipant *)hmagic)->conf;
  else if (hmagic == NULL)
    conf = disco_sip_agent_find_conference (agent,
                                            sip->sip_request ? sip->sip_request->rq_url : NULL);
  if (conf == NULL)
    {
      /* No nua_handle_destroy() here: sofia 1.12.11 has already given the
       * REFER its implicit-subscription usage, and destroying the handle
       * right after the error answer leaves a dangling dialog that crashes
       * nua_shutdown (nua_dialog_repeat_shutdown).  The handle is freed
       * with the stack. */
      nua_respond (nh, SIP_404_NOT_FOUND, NUTAG_WITH_THIS (nua), TAG_END ());
      return;
    }
  sip_refer_to_t const *to = sip->sip_refer_to;
  if (to == NULL || to->r_url->url_type != url_sip || to->r_url->url_host == NULL)
    {
      nua_respond (nh, 400, "Refer-To must be one sip: URI", NUTAG_WITH_THIS (nua), TAG_END ());
      return;
    }

  char method[16] = "";
  if (to->r_url->url_params)
    url_param (to->r_url->url_params, "method", method, sizeof method);

  if (g_ascii_strcasecmp (method, "BYE") == 0)
    {
      /* RFC 4579 §5.11: remove a participant. */
      DiscoParticipant *victim = find_by_uri (conf, to->r_url);
      if (victim == NULL || victim == hmagic)
        {
          nua_respond (nh, SIP_404_NOT_FOUND, NUTAG_WITH_THIS (nua), TAG_END ());
          return;
        }
      nua_respond (nh, SIP_200_OK, NUTAG_WITH_THIS (nua), SIPTAG_CONTACT_STR (conf->contact),
                   TAG_END ());
      victim->status = "disconnecting";
      nua_bye (victim->nh, SIPTAG_REASON_STR ("SIP;cause=200;text=\"Removed by REFER\""),
               TAG_END ());
      sip_event_t const *event = NULL;
      tl_gets (tags, NUTAG_REFER_EVENT_REF (event), TAG_END ());
      nua_notify (nh, NUTAG_SUBSTATE (nua_substate_terminated),
                  TAG_IF (event, SIPTAG_EVENT (event)),
                  SIPTAG_SUBSCRIPTION_STATE_STR ("terminated;reason=noresource"),
                  SIPTAG_CONTENT_TYPE_STR ("message/sipfrag;version=2.0"),
                  SIPTAG_PAYLOAD_STR ("SIP/2.0 200 OK\r\n"), TAG_END ());
      disco_conference_changed (conf);
      return;
    }
  if (method[0] && g_ascii_strcasecmp (method, "INVITE") != 0)
    {
      nua_respond (nh, 501, "Only INVITE and BYE referrals", NUTAG_WITH_THIS (nua), TAG_END ());
      return;
    }

  /* Referring the conference to itself would make it call itself. */
  if (disco_sip_agent_find_conference (agent, to->r_url) == conf)
    {
      nua_respond (nh, 403, "Cannot refer the conference to itself", NUTAG_WITH_THIS (nua),
                   TAG_END ());
      return;
    }
  const DiscoFocusConfig *config = disco_sip_agent_config (agent);
  if (disco_sip_agent_participant_count (agent) >= config->max_participants)
    {
      nua_respond (nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS (nua),
                   SIPTAG_RETRY_AFTER_STR ("30"), TAG_END ());
      return;
    }
  /* Dial-out (RFC 4579 §5.5).  The target URI without headers/method. */
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *target = url_hdup (home, to->r_url);
  target->url_headers = NULL;
  char *target_str = url_as_string (home, target);
  /* 200 rather than 202 (RFC 7647 §5). */
  nua_respond (nh, SIP_200_OK, NUTAG_WITH_THIS (nua), SIPTAG_CONTACT_STR (conf->contact),
               TAG_END ());
  if (!disco_call_dial_out (conf, target_str, nh, tags))
    g_warning ("dial-out to %s failed to start", target_str);
  su_home_deinit (home);
}
