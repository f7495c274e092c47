/* ice-peer: one RELOAD peer's side of an AppAttach over ICE + DTLS, driven
 * by the netns test through stdin/stdout.
 *
 *   ice-peer --address IP --user NAME (--request | --answer)
 *
 * Prints "node <hex>" then "attach <hex of a whole AppAttach message>",
 * reads "peer <hex node-id> <hex message>" from the other side, connects,
 * and then the requester (DTLS passive, ICE controlling) sends numbered
 * messages that the answerer echoes.  Prints "ok <pair>" and exits 0 when
 * every echo came back. */
#include <stdio.h>
#include <string.h>

#include "disco-ice.h"
#include "reload-cert.h"

#define N_MESSAGES 20

typedef struct
{
  GMainLoop *loop;
  gboolean request;
  DiscoIceSession *ice;
  DiscoDtlsLink *dtls;
  DiscoReloadIdentity *identity;
  DiscoReloadNodeId peer;
  guint echoed;
  int rc;
} Peer;

static void
finish (Peer *p, int rc, const char *why)
{
  if (why)
    g_printerr ("ice-peer: %s\n", why);
  p->rc = rc;
  g_main_loop_quit (p->loop);
}

static char *
hex (const guint8 *data, gsize len)
{
  GString *s = g_string_sized_new (len * 2);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf (s, "%02x", data[i]);
  return g_string_free (s, FALSE);
}

static GBytes *
unhex (const char *text)
{
  gsize n = strlen (text);
  if (n % 2)
    return NULL;
  guint8 *buf = g_malloc (n / 2);
  for (gsize i = 0; i < n / 2; i++)
    {
      int hi = g_ascii_xdigit_value (text[2 * i]), lo = g_ascii_xdigit_value (text[2 * i + 1]);
      if (hi < 0 || lo < 0)
        {
          g_free (buf);
          return NULL;
        }
      buf[i] = (guint8)(hi << 4 | lo);
    }
  return g_bytes_new_take (buf, n / 2);
}

static void
on_message (DiscoDtlsLink *link, const guint8 *data, gsize len, gpointer user_data)
{
  Peer *p = user_data;
  g_autoptr (GError) error = NULL;

  if (!p->request)
    {
      if (!disco_dtls_link_send (link, data, len, &error))
        finish (p, 1, error->message);
      else if (++p->echoed == N_MESSAGES)
        {
          /* Leave time for the last ACKs before exiting. */
          p->rc = 0;
          g_timeout_add (1000, (GSourceFunc)g_main_loop_quit, p->loop);
        }
      return;
    }
  if (++p->echoed == N_MESSAGES)
    {
      g_autofree char *pair = disco_ice_session_describe_pair (p->ice);
      printf ("ok %s\n", pair ? pair : "?");
      fflush (stdout);
      finish (p, 0, NULL);
    }
}

static void
on_dtls_event (DiscoDtlsLink *link, DiscoDtlsEvent event, const GError *error, gpointer user_data)
{
  Peer *p = user_data;

  if (event != DISCO_DTLS_EVENT_CONNECTED)
    {
      finish (p, 1, error ? error->message : "DTLS closed");
      return;
    }
  if (!p->request)
    {
      printf ("ok connected\n");
      fflush (stdout);
      return;
    }
  for (guint i = 0; i < N_MESSAGES; i++)
    {
      g_autofree char *pad = g_strnfill (100 + i * 37, 'x');
      g_autofree char *msg = g_strdup_printf ("message %u %s", i, pad);
      g_autoptr (GError) err = NULL;
      if (!disco_dtls_link_send (link, (const guint8 *)msg, strlen (msg), &err))
        finish (p, 1, err->message);
    }
}

static void
on_ice_state (DiscoIceSession *s, DiscoIceState state, gpointer user_data)
{
  Peer *p = user_data;
  g_autoptr (GError) error = NULL;

  if (state == DISCO_ICE_STATE_FAILED)
    finish (p, 1, "ICE failed");
  else if (state == DISCO_ICE_STATE_CONNECTED && p->dtls == NULL)
    {
      /* RFC 6940 §6.5.1.3: the answerer is DTLS-active. */
      p->dtls = disco_dtls_link_new (p->ice, p->identity, &p->peer, !p->request, 0, &error);
      if (p->dtls == NULL)
        {
          finish (p, 1, error->message);
          return;
        }
      disco_dtls_link_set_callbacks (p->dtls, on_dtls_event, on_message, p);
      if (!disco_dtls_link_start (p->dtls, &error))
        finish (p, 1, error->message);
    }
}

int
main (int argc, char **argv)
{
  g_autofree char *address = NULL, *user = NULL;
  gboolean request = FALSE, answer = FALSE;
  GOptionEntry entries[]
      = { { "address", 0, 0, G_OPTION_ARG_STRING, &address, "local address", "IP" },
          { "user", 0, 0, G_OPTION_ARG_STRING, &user, "user name", "NAME" },
          { "request", 0, 0, G_OPTION_ARG_NONE, &request, "send the AppAttach request", NULL },
          { "answer", 0, 0, G_OPTION_ARG_NONE, &answer, "answer it", NULL },
          { NULL } };
  g_autoptr (GOptionContext) ctx = g_option_context_new (NULL);
  g_autoptr (GError) error = NULL;
  Peer p = { 0 };

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || !address || !user || request == answer)
    {
      g_printerr ("usage: ice-peer --address IP --user NAME (--request|--answer)\n");
      return 2;
    }
  p.request = request;
  p.loop = g_main_loop_new (NULL, FALSE);
  p.identity = disco_reload_identity_new_self_signed (
      user, "disco.example.org", DISCO_RELOAD_DIGEST_SHA256, 1, 2048, 1, &error);
  g_assert_no_error (error);

  const char *addrs[] = { address, NULL };
  DiscoIceConfig cfg = { .controlling = request,
                         .local_addresses = addrs,
                         .overlay_link = DISCO_RELOAD_OVERLAY_LINK_DTLS_UDP_SR };
  p.ice = disco_ice_session_new (NULL, &cfg, &error);
  g_assert_no_error (error);
  disco_ice_session_set_callbacks (p.ice, on_ice_state, NULL, &p);
  g_assert_true (disco_ice_session_gather (p.ice, &error));
  while (disco_ice_session_get_state (p.ice) == DISCO_ICE_STATE_GATHERING)
    g_main_context_iteration (NULL, TRUE);

  /* Our half of the AppAttach exchange, as real RELOAD bytes. */
  g_autoptr (DiscoReloadMessage) msg = disco_reload_message_new (
      request ? DISCO_RELOAD_APP_ATTACH_REQ : DISCO_RELOAD_APP_ATTACH_ANS);
  msg->body.attach.ufrag = g_strdup (disco_ice_session_get_ufrag (p.ice));
  msg->body.attach.password = g_strdup (disco_ice_session_get_password (p.ice));
  msg->body.attach.application = 5060;
  msg->body.attach.role = g_strdup (request ? "passive" : "active");
  g_ptr_array_unref (msg->body.attach.candidates);
  msg->body.attach.candidates = disco_ice_session_get_local_candidates (p.ice);
  g_autoptr (GByteArray) wire = g_byte_array_new ();
  g_assert_true (disco_reload_message_encode (msg, wire, &error));
  g_autofree char *node
      = disco_reload_node_id_to_hex (disco_reload_identity_get_node_id (p.identity));
  g_autofree char *wire_hex = hex (wire->data, wire->len);
  printf ("node %s\nattach %s\n", node, wire_hex);
  fflush (stdout);

  char line[65536];
  if (!fgets (line, sizeof line, stdin))
    return 3;
  g_strchomp (line);
  g_auto (GStrv) f = g_strsplit (line, " ", 3);
  g_autoptr (GBytes) remote = g_strv_length (f) == 3 ? unhex (f[2]) : NULL;
  if (remote == NULL || !g_str_equal (f[0], "peer")
      || !disco_reload_node_id_from_hex (f[1], &p.peer))
    {
      g_printerr ("ice-peer: bad peer line\n");
      return 3;
    }
  g_autoptr (DiscoReloadMessage) theirs = NULL;
  if (!disco_reload_message_decode (g_bytes_get_data (remote, NULL), g_bytes_get_size (remote),
                                    &theirs, &error))
    {
      g_printerr ("ice-peer: peer's AppAttach does not decode: %s\n", error->message);
      return 3;
    }
  if (!disco_ice_session_set_remote (p.ice, theirs->body.attach.ufrag, theirs->body.attach.password,
                                     theirs->body.attach.candidates, &error))
    {
      g_printerr ("ice-peer: %s\n", error->message);
      return 3;
    }

  guint timeout = g_timeout_add_seconds (30, (GSourceFunc)g_main_loop_quit, p.loop);
  p.rc = 4;
  g_main_loop_run (p.loop);
  if (p.rc == 4)
    g_printerr ("ice-peer: timed out\n");
  else
    g_source_remove (timeout);
  disco_dtls_link_free (p.dtls);
  disco_ice_session_free (p.ice);
  disco_reload_identity_unref (p.identity);
  g_main_loop_unref (p.loop);
  return p.rc;
}
