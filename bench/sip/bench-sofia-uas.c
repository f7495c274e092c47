/* bench-sofia-uas.c: the baseline for the SIP benchmarks: a bare sofia-sip
 * NUA on the GLib loop that auto-answers every INVITE with a fixed PCMU SDP
 * (soa), answers BYE, and frees each handle when its call ends.  No
 * conference logic, no media.  Prints "ready sip=ADDR:PORT pid=N". */
#include <glib-unix.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/soa_tag.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag_io.h>
#include <stdio.h>
#include <unistd.h>

static gboolean got_params, shut;
static char *hostport;

static void
on_event (nua_event_t event, int status, char const *phrase, nua_t *nua, nua_magic_t *magic,
          nua_handle_t *nh, nua_hmagic_t *hmagic, sip_t const *sip, tagi_t tags[])
{
  if (event == nua_r_get_params)
    {
      sip_contact_t const *m = NULL;
      tl_gets (tags, NTATAG_CONTACT_REF (m), TAG_END ());
      if (m && m->m_url->url_host)
        hostport = g_strdup_printf ("%s:%s", m->m_url->url_host, m->m_url->url_port);
      got_params = TRUE;
    }
  else if (event == nua_r_shutdown && status >= 200)
    shut = TRUE;
  else if (event == nua_i_state)
    {
      int state = 0;
      tl_gets (tags, NUTAG_CALLSTATE_REF (state), TAG_END ());
      if (state == nua_callstate_terminated)
        nua_handle_destroy (nh);
    }
}

static gboolean
on_signal (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  su_init ();
  su_log_set_level (NULL, 0);
  su_root_t *root = su_glib_root_create (NULL);
  g_source_attach (su_glib_root_gsource (root), NULL);
  nua_t *nua = nua_create (
      root, on_event, NULL, NUTAG_URL ("sip:127.0.0.1:0;transport=udp"), NUTAG_AUTOANSWER (1),
      NUTAG_AUTOALERT (0), SOATAG_ADDRESS ("127.0.0.1"),
      SOATAG_USER_SDP_STR ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                           "t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"),
      TAG_END ());
  if (nua == NULL)
    return 1;
  nua_get_params (nua, TAG_ANY (), TAG_END ());
  while (!got_params)
    g_main_context_iteration (NULL, TRUE);
  printf ("ready sip=%s pid=%d\n", hostport, (int)getpid ());
  fflush (stdout);

  GMainLoop *loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, on_signal, loop);
  g_unix_signal_add (SIGINT, on_signal, loop);
  g_main_loop_run (loop);
  nua_shutdown (nua);
  while (!shut)
    g_main_context_iteration (NULL, TRUE);
  nua_destroy (nua);
  su_root_destroy (root);
  su_deinit ();
  g_free (hostport);
  g_main_loop_unref (loop);
  return 0;
}
