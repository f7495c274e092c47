/* sip-agent.c: NUA lifecycle: create, learn the bound port, shut down. */
#define G_LOG_DOMAIN "disco-sip"

#include "sip-agent.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_tag_io.h>

#include "focus-config.h"

struct _DiscoSipAgent
{
  su_root_t *root;
  nua_t *nua;
  GInetSocketAddress *bound;
  gboolean got_params;
  gboolean shutdown_started;
  gboolean shutdown_done;
  int last_status;
};

static void
on_event (nua_event_t event,
          int status,
          char const *phrase,
          nua_t *nua,
          nua_magic_t *magic,
          nua_handle_t *nh,
          nua_hmagic_t *hmagic,
          sip_t const *sip,
          tagi_t tags[])
{
  DiscoSipAgent *self = (DiscoSipAgent *) magic;

  switch (event)
    {
    case nua_r_get_params:
      {
        sip_contact_t const *m = NULL;
        tl_gets (tags, NTATAG_CONTACT_REF (m), TAG_END ());
        if (m && m->m_url->url_host)
          {
            /* sofia keeps IPv6 hosts in brackets, which is what the parser wants. */
            const char *port = m->m_url->url_port ? m->m_url->url_port : "5060";
            g_autofree char *text = g_strdup_printf ("%s:%s", m->m_url->url_host, port);
            self->bound = disco_address_parse (text, NULL);
          }
        self->got_params = TRUE;
        break;
      }
    case nua_r_shutdown:
      self->last_status = status;
      if (status >= 200)
        self->shutdown_done = TRUE;
      break;
    case nua_i_state:
      {
        int state = nua_callstate_init;
        tl_gets (tags, NUTAG_CALLSTATE_REF (state), TAG_END ());
        if (state == nua_callstate_terminated && nh)
          nua_handle_destroy (nh);
        break;
      }
    default:
      g_debug ("nua event %s %d %s", nua_event_name (event), status, phrase ? phrase : "");
      break;
    }
}

DiscoSipAgent *
disco_sip_agent_new (su_root_t *root, GInetSocketAddress *listen, GError **error)
{
  g_autofree char *hostport = disco_address_to_string (listen);
  g_autofree char *url = g_strdup_printf ("sip:%s", hostport);
  DiscoSipAgent *self = g_new0 (DiscoSipAgent, 1);

  self->root = root;
  self->nua = nua_create (root, on_event, (nua_magic_t *) self, NUTAG_URL (url),
                          NUTAG_USER_AGENT ("disco-focus"), TAG_END ());
  if (self->nua == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "cannot listen for SIP on %s (address in use or not local?)", hostport);
      g_free (self);
      return NULL;
    }

  nua_get_params (self->nua, TAG_ANY (), TAG_END ());
  gint64 deadline = g_get_monotonic_time () + 5 * G_TIME_SPAN_SECOND;
  while (!self->got_params && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  if (self->bound == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "SIP stack did not report its address");
      disco_sip_agent_shutdown (self, 2000);
      disco_sip_agent_free (self);
      return NULL;
    }
  g_info ("SIP listening on %s", hostport);
  return self;
}

GInetSocketAddress *
disco_sip_agent_get_address (DiscoSipAgent *self)
{
  return self->bound;
}

gboolean
disco_sip_agent_shutdown (DiscoSipAgent *self, guint timeout_ms)
{
  if (self->nua == NULL || self->shutdown_done)
    return TRUE;
  if (!self->shutdown_started)
    {
      self->shutdown_started = TRUE;
      nua_shutdown (self->nua);
    }
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!self->shutdown_done && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return self->shutdown_done;
}

void
disco_sip_agent_free (DiscoSipAgent *self)
{
  if (self == NULL)
    return;
  if (self->nua)
    nua_destroy (self->nua);
  g_clear_object (&self->bound);
  g_free (self);
}
