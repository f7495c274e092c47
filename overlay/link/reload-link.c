/* reload-link.c: framed RELOAD messages over non-blocking TLS/TCP. */
#define G_LOG_DOMAIN "disco-link"

#include "reload-link.h"
#include "reload-link-private.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <string.h>

G_DEFINE_QUARK (disco - reload - link - error - quark, disco_reload_link_error)

#define READ_CHUNK 16384
/* Bytes of one oversized message we keep for the Error_Message_Too_Large
 * answer: enough for any forwarding header a sane peer sends. */
#define TOO_LARGE_HEAD_MAX 4096
/* Output a peer leaves unread before we give up on it. */
#define DISCO_RELOAD_LINK_MAX_QUEUED (8 * 1024 * 1024)

typedef enum
{
  STATE_CONNECTING,
  STATE_HANDSHAKE,
  STATE_OPEN,
  STATE_DRAINING, /* close_after_flush: write out, then close */
  STATE_CLOSED,
} LinkState;

struct _DiscoReloadLink
{
  gint ref_count;
  DiscoReloadLinkContext *ctx;
  DiscoReloadLinkMode mode;
  gboolean is_server;
  LinkState state;
  GSocket *socket;
  SSL *ssl;
  GSource *watch;
  GIOCondition watch_cond;
  gboolean want_write_for_read; /* SSL_read said WANT_WRITE */
  gboolean want_read_for_write; /* SSL_write said WANT_READ */
  gboolean shutdown_sent;
  gboolean draining_ref; /* close_after_flush keeps the link alive until done */
  GSource *handshake_timer;
  GSource *start_source; /* first pump of an accepted link, from the loop */

  GByteArray *inbuf;
  GByteArray *outbuf;
  gboolean read_paused;

  guint32 next_sequence;
  DiscoReloadAckTracker acks;
  DiscoReloadRtt rtt;

  gboolean have_expected;
  DiscoReloadNodeId expected_node_id;
  gboolean have_peer_node_id;
  DiscoReloadNodeId peer_node_id;
  DiscoReloadCert *peer_cert;
  char *description;

  DiscoReloadLinkCallbacks callbacks;
  gpointer user_data;
};

static void link_update_watch (DiscoReloadLink *link);
static void link_fail (DiscoReloadLink *link, GError *error);

static void
stop_handshake_timer (DiscoReloadLink *link)
{
  if (link->handshake_timer)
    {
      g_source_destroy (link->handshake_timer);
      g_clear_pointer (&link->handshake_timer, g_source_unref);
    }
}

static gboolean
on_handshake_timeout (gpointer user_data)
{
  DiscoReloadLink *link = user_data;
  g_clear_pointer (&link->handshake_timer, g_source_unref);
  disco_reload_link_ref (link);
  link_fail (link,
             g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TLS,
                          "no completed handshake within %u ms", link->ctx->handshake_timeout_ms));
  disco_reload_link_unref (link);
  return G_SOURCE_REMOVE;
}

static void
start_handshake_timer (DiscoReloadLink *link)
{
  /* Slow or silent peers must not hold sockets forever. */
  link->handshake_timer = g_timeout_source_new (link->ctx->handshake_timeout_ms);
  g_source_set_callback (link->handshake_timer, on_handshake_timeout, link, NULL);
  g_source_attach (link->handshake_timer, g_main_context_get_thread_default ());
}
static void link_pump (DiscoReloadLink *link);

static void
link_teardown (DiscoReloadLink *link)
{
  if (link->start_source)
    {
      g_source_destroy (link->start_source);
      g_clear_pointer (&link->start_source, g_source_unref);
    }
  if (link->handshake_timer)
    {
      g_source_destroy (link->handshake_timer);
      g_clear_pointer (&link->handshake_timer, g_source_unref);
    }
  if (link->watch)
    {
      g_source_destroy (link->watch);
      g_clear_pointer (&link->watch, g_source_unref);
    }
  if (link->socket)
    g_socket_close (link->socket, NULL);
  link->state = STATE_CLOSED;
  if (link->draining_ref)
    {
      link->draining_ref = FALSE;
      disco_reload_link_unref (link);
    }
}

/* Closes because of @error and tells the owner (once). */
static void
link_fail (DiscoReloadLink *link, GError *error)
{
  if (link->state == STATE_CLOSED)
    {
      g_error_free (error);
      return;
    }
  gboolean tell = link->state != STATE_DRAINING;
  g_debug ("%s: closing: %s", link->description, error->message);
  link_teardown (link);
  if (tell && link->callbacks.closed)
    link->callbacks.closed (link, error, link->user_data);
  g_error_free (error);
}

static GError *
ssl_error (const char *what)
{
  char buf[256] = "";
  unsigned long e = ERR_get_error ();
  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  return g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TLS, "TLS %s failed%s%s",
                      what, buf[0] ? ": " : "", buf);
}

/* ---- outgoing ---------------------------------------------------------- */

static void
queue_bytes (DiscoReloadLink *link, const guint8 *data, gsize len)
{
  g_byte_array_append (link->outbuf, data, len);
}

/* Writes as much of outbuf as the socket takes.  Returns FALSE when the link
 * failed (already reported). */
static gboolean
flush_out (DiscoReloadLink *link)
{
  link->want_read_for_write = FALSE;
  while (link->outbuf->len > 0)
    {
      gssize n;
      if (link->mode == DISCO_RELOAD_LINK_TLS)
        {
          ERR_clear_error ();
          int r = SSL_write (link->ssl, link->outbuf->data, (int)MIN (link->outbuf->len, G_MAXINT));
          if (r <= 0)
            {
              int e = SSL_get_error (link->ssl, r);
              if (e == SSL_ERROR_WANT_WRITE)
                return TRUE;
              if (e == SSL_ERROR_WANT_READ)
                {
                  link->want_read_for_write = TRUE;
                  return TRUE;
                }
              link_fail (link, ssl_error ("write"));
              return FALSE;
            }
          n = r;
        }
      else
        {
          g_autoptr (GError) error = NULL;
          n = g_socket_send (link->socket, (const char *)link->outbuf->data, link->outbuf->len,
                             NULL, &error);
          if (n < 0)
            {
              if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                return TRUE;
              link_fail (link, g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_IO,
                                            "send failed: %s", error->message));
              return FALSE;
            }
        }
      g_byte_array_remove_range (link->outbuf, 0, (guint)n);
    }
  return TRUE;
}

gboolean
disco_reload_link_send (DiscoReloadLink *link, GBytes *message, GError **error)
{
  if (link->state == STATE_CLOSED || link->state == STATE_DRAINING)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_CLOSED,
                   "link %s is closed", link->description);
      return FALSE;
    }
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);
  if (link->outbuf->len + len > DISCO_RELOAD_LINK_MAX_QUEUED)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_IO,
                   "%s: %u bytes already queued, the peer is not reading", link->description,
                   link->outbuf->len);
      return FALSE;
    }
  if (len > DISCO_RELOAD_FRAME_MAX_PAYLOAD)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TOO_LARGE,
                   "message of %" G_GSIZE_FORMAT " bytes does not fit one frame", len);
      return FALSE;
    }
  guint8 hdr[DISCO_RELOAD_FRAME_DATA_HEADER_LEN];
  guint32 seq = link->next_sequence++;
  disco_reload_frame_write_data_header (hdr, seq, len);
  queue_bytes (link, hdr, sizeof hdr);
  queue_bytes (link, data, len);
  disco_reload_rtt_sent (&link->rtt, seq, g_get_monotonic_time ());
  if (link->state == STATE_OPEN)
    {
      disco_reload_link_ref (link);
      if (flush_out (link))
        link_update_watch (link);
      disco_reload_link_unref (link);
    }
  return TRUE;
}

/* ---- incoming ---------------------------------------------------------- */

/* Handles complete frames in inbuf.  Returns FALSE when the link went away
 * or stopped reading. */
static gboolean
process_frames (DiscoReloadLink *link)
{
  gsize max = link->ctx->max_message_size;
  gsize off = 0;
  gboolean ok = TRUE;

  while (link->state == STATE_OPEN && !link->read_paused)
    {
      DiscoReloadFrame f;
      g_autoptr (GError) error = NULL;
      gssize n = disco_reload_frame_parse (link->inbuf->data + off, link->inbuf->len - off, max, &f,
                                           &error);
      if (n == 0)
        break;
      if (n < 0)
        {
          if (g_error_matches (error, DISCO_RELOAD_FRAMING_ERROR,
                               DISCO_RELOAD_FRAMING_ERROR_TOO_LARGE))
            {
              /* Wait for enough of the message to answer it, but never buffer
               * more than max-message-size of it. */
              gsize want = MIN (f.payload_len, MIN (max, TOO_LARGE_HEAD_MAX));
              gsize have = link->inbuf->len - off - DISCO_RELOAD_FRAME_DATA_HEADER_LEN;
              if (have < want)
                break;
              link->read_paused = TRUE;
              g_message ("%s: message of %" G_GSIZE_FORMAT
                         " bytes exceeds max-message-size %" G_GSIZE_FORMAT,
                         link->description, f.payload_len, max);
              if (link->callbacks.too_large)
                {
                  g_autoptr (GBytes) head = g_bytes_new (
                      link->inbuf->data + off + DISCO_RELOAD_FRAME_DATA_HEADER_LEN, want);
                  link->callbacks.too_large (link, head, f.payload_len, link->user_data);
                }
              else
                link_fail (link, g_steal_pointer (&error));
              ok = FALSE;
              break;
            }
          link_fail (link, g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_FRAMING,
                                        "%s", error->message));
          return FALSE;
        }
      off += (gsize)n;
      if (f.type == DISCO_RELOAD_FRAME_ACK)
        {
          disco_reload_rtt_ack (&link->rtt, f.sequence, f.received, g_get_monotonic_time ());
          continue;
        }
      gboolean dup = FALSE;
      guint32 received = disco_reload_ack_tracker_receive (&link->acks, f.sequence, &dup);
      guint8 ack[DISCO_RELOAD_FRAME_ACK_LEN];
      if (link->outbuf->len > DISCO_RELOAD_LINK_MAX_QUEUED)
        {
          link_fail (link, g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_IO,
                                        "the peer sends but does not read"));
          return FALSE;
        }
      disco_reload_frame_write_ack (ack, f.sequence, received);
      queue_bytes (link, ack, sizeof ack);
      if (dup)
        continue; /* TCP does not duplicate; a repeat is a peer bug, ACK and drop */
      if (link->callbacks.message)
        {
          g_autoptr (GBytes) msg = g_bytes_new (f.payload, f.payload_len);
          link->callbacks.message (link, msg, link->user_data);
        }
    }
  if (link->state != STATE_CLOSED && off > 0)
    g_byte_array_remove_range (link->inbuf, 0, (guint)off);
  return ok && link->state == STATE_OPEN;
}

/* Reads until the socket would block.  Returns FALSE when the link died. */
static gboolean
read_in (DiscoReloadLink *link)
{
  guint8 buf[READ_CHUNK];

  link->want_write_for_read = FALSE;
  while (link->state == STATE_OPEN && !link->read_paused)
    {
      gssize n;
      if (link->mode == DISCO_RELOAD_LINK_TLS)
        {
          ERR_clear_error ();
          int r = SSL_read (link->ssl, buf, sizeof buf);
          if (r <= 0)
            {
              int e = SSL_get_error (link->ssl, r);
              if (e == SSL_ERROR_WANT_READ)
                return TRUE;
              if (e == SSL_ERROR_WANT_WRITE)
                {
                  link->want_write_for_read = TRUE;
                  return TRUE;
                }
              if (e == SSL_ERROR_ZERO_RETURN)
                link_fail (link,
                           g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_CLOSED,
                                        "peer closed the TLS session"));
              else if (e == SSL_ERROR_SYSCALL && ERR_peek_error () == 0)
                link_fail (link,
                           g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_CLOSED,
                                        "peer closed the connection"));
              else
                link_fail (link, ssl_error ("read"));
              return FALSE;
            }
          n = r;
        }
      else
        {
          g_autoptr (GError) error = NULL;
          n = g_socket_receive (link->socket, (char *)buf, sizeof buf, NULL, &error);
          if (n < 0)
            {
              if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                return TRUE;
              link_fail (link, g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_IO,
                                            "receive failed: %s", error->message));
              return FALSE;
            }
          if (n == 0)
            {
              link_fail (link, g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_CLOSED,
                                            "peer closed the connection"));
              return FALSE;
            }
        }
      g_byte_array_append (link->inbuf, buf, (guint)n);
      if (!process_frames (link))
        return link->state != STATE_CLOSED;
    }
  return link->state != STATE_CLOSED;
}

/* ---- handshake --------------------------------------------------------- */

static gboolean
handshake_step (DiscoReloadLink *link)
{
  if (link->mode == DISCO_RELOAD_LINK_PLAINTEXT)
    {
      link->state = STATE_OPEN;
      stop_handshake_timer (link);
      if (link->callbacks.established)
        link->callbacks.established (link, link->user_data);
      return link->state == STATE_OPEN;
    }
  ERR_clear_error ();
  int r = SSL_do_handshake (link->ssl);
  if (r == 1)
    {
      GError *error = NULL;
      if (!disco_reload_link_check_peer (link->ctx, link->ssl,
                                         link->have_expected ? &link->expected_node_id : NULL,
                                         &link->peer_cert, &link->peer_node_id, &error))
        {
          link_fail (link, error);
          return FALSE;
        }
      link->have_peer_node_id = TRUE;
      link->state = STATE_OPEN;
      stop_handshake_timer (link);
      g_debug ("%s: established (%s)", link->description, SSL_get_version (link->ssl));
      if (link->callbacks.established)
        link->callbacks.established (link, link->user_data);
      return link->state == STATE_OPEN;
    }
  int e = SSL_get_error (link->ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
    return TRUE;
  if (e == SSL_ERROR_SYSCALL && ERR_peek_error () == 0)
    link_fail (link, g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TLS,
                                  "connection closed during the TLS handshake"));
  else
    link_fail (link, ssl_error ("handshake"));
  return FALSE;
}

static gboolean
start_tls (DiscoReloadLink *link, GError **error)
{
  link->ssl = SSL_new (link->ctx->ssl_ctx);
  if (link->ssl == NULL)
    {
      *error = ssl_error ("session setup");
      return FALSE;
    }
  SSL_set_mode (link->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_fd (link->ssl, g_socket_get_fd (link->socket));
  if (link->is_server)
    SSL_set_accept_state (link->ssl);
  else
    SSL_set_connect_state (link->ssl);
  return TRUE;
}

/* ---- the event pump ---------------------------------------------------- */

static void
link_pump (DiscoReloadLink *link)
{
  if (link->state == STATE_CONNECTING)
    {
      g_autoptr (GError) error = NULL;
      if (!g_socket_condition_check (link->socket, G_IO_OUT | G_IO_ERR | G_IO_HUP))
        return;
      if (!g_socket_check_connect_result (link->socket, &error))
        {
          link_fail (link, g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_IO,
                                        "connect failed: %s", error->message));
          return;
        }
      /* GSocket's source may already have read (and so cleared) SO_ERROR;
       * a refused connection then shows as a socket without a peer. */
      g_autoptr (GSocketAddress) peer = g_socket_get_remote_address (link->socket, NULL);
      if (peer == NULL)
        {
          link_fail (link, g_error_new (DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_IO,
                                        "connect failed: connection refused or unreachable"));
          return;
        }
      link->state = STATE_HANDSHAKE;
    }
  if (link->state == STATE_HANDSHAKE && !handshake_step (link))
    return;
  if (link->state == STATE_HANDSHAKE)
    return;
  if (link->state == STATE_OPEN)
    {
      if (!read_in (link))
        return;
      if (!flush_out (link))
        return;
    }
  if (link->state == STATE_DRAINING)
    {
      /* DRAINING skips reading: flush_out works in that state too. */
      if (!flush_out (link))
        return;
      if (link->outbuf->len == 0 && !link->want_read_for_write)
        {
          if (link->ssl && !link->shutdown_sent)
            {
              ERR_clear_error ();
              SSL_shutdown (link->ssl); /* one close_notify; the peer's answer is not awaited */
              link->shutdown_sent = TRUE;
            }
          link_teardown (link);
        }
    }
}

static gboolean
on_socket_ready (GSocket *socket, GIOCondition cond, gpointer user_data)
{
  DiscoReloadLink *link = user_data;
  disco_reload_link_ref (link);
  link_pump (link);
  if (link->state != STATE_CLOSED)
    link_update_watch (link);
  disco_reload_link_unref (link);
  return G_SOURCE_CONTINUE;
}

static void
link_update_watch (DiscoReloadLink *link)
{
  GIOCondition cond = 0;

  switch (link->state)
    {
      case STATE_CLOSED:
        return;
      case STATE_CONNECTING:
        cond = G_IO_OUT;
        break;
      case STATE_HANDSHAKE:
        cond = link->ssl == NULL || SSL_want_write (link->ssl) ? G_IO_OUT : G_IO_IN;
        break;
      case STATE_OPEN:
      case STATE_DRAINING:
        if (link->state == STATE_OPEN && !link->read_paused)
          cond |= G_IO_IN;
        if (link->outbuf->len > 0 || link->want_write_for_read)
          cond |= G_IO_OUT;
        if (link->want_read_for_write)
          cond |= G_IO_IN;
        break;
    }
  if (link->watch && cond == link->watch_cond)
    return;
  if (link->watch)
    {
      g_source_destroy (link->watch);
      g_clear_pointer (&link->watch, g_source_unref);
    }
  link->watch_cond = cond;
  if (cond == 0)
    return;
  link->watch = g_socket_create_source (link->socket, cond | G_IO_ERR | G_IO_HUP, NULL);
  g_source_set_callback (link->watch, G_SOURCE_FUNC (on_socket_ready), link, NULL);
  g_source_attach (link->watch, g_main_context_get_thread_default ());
}

/* Runs the first pump step from an idle so callbacks never fire inside the
 * constructor. */
static gboolean
on_start (gpointer user_data)
{
  DiscoReloadLink *link = user_data;
  g_clear_pointer (&link->start_source, g_source_unref);
  on_socket_ready (link->socket, 0, link);
  return G_SOURCE_REMOVE;
}

/* ---- construction ------------------------------------------------------ */

static void
describe (DiscoReloadLink *link)
{
  g_autofree char *peer = NULL;
  GSocketAddress *addr = g_socket_get_remote_address (link->socket, NULL);
  if (addr && G_IS_INET_SOCKET_ADDRESS (addr))
    {
      g_autofree char *ip = g_inet_address_to_string (
          g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (addr)));
      peer = g_strdup_printf ("%s:%u", ip,
                              g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (addr)));
    }
  g_clear_object (&addr);
  g_free (link->description);
  link->description
      = g_strdup_printf ("%s link %s %s", link->mode == DISCO_RELOAD_LINK_TLS ? "tls" : "plaintext",
                         link->is_server ? "from" : "to", peer ? peer : "?");
}

static DiscoReloadLink *
link_alloc (DiscoReloadLinkContext *ctx, GSocket *socket, gboolean is_server,
            DiscoReloadLinkMode mode, const DiscoReloadNodeId *expected_node_id,
            const DiscoReloadLinkCallbacks *callbacks, gpointer user_data, GError **error)
{
  if (mode == DISCO_RELOAD_LINK_PLAINTEXT && !ctx->allow_plaintext)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PLAINTEXT,
                   "plaintext RELOAD links are a test-only mode and this configuration does not "
                   "enable them");
      return NULL;
    }
  if (mode == DISCO_RELOAD_LINK_TLS && ctx->ssl_ctx == NULL)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TLS,
                   "no certificate configured for TLS links");
      return NULL;
    }
  DiscoReloadLink *link = g_new0 (DiscoReloadLink, 1);
  link->ref_count = 1;
  link->ctx = disco_reload_link_context_ref (ctx);
  link->mode = mode;
  link->is_server = is_server;
  link->socket = g_object_ref (socket);
  g_socket_set_blocking (socket, FALSE);
  link->inbuf = g_byte_array_new ();
  link->outbuf = g_byte_array_new ();
  disco_reload_ack_tracker_init (&link->acks);
  disco_reload_rtt_init (&link->rtt);
  if (expected_node_id)
    {
      link->have_expected = TRUE;
      link->expected_node_id = *expected_node_id;
    }
  if (callbacks)
    link->callbacks = *callbacks;
  link->user_data = user_data;
  return link;
}

DiscoReloadLink *
disco_reload_link_new (DiscoReloadLinkContext *ctx, GSocket *socket, gboolean is_server,
                       DiscoReloadLinkMode mode, const DiscoReloadNodeId *expected_node_id,
                       const DiscoReloadLinkCallbacks *callbacks, gpointer user_data,
                       GError **error)
{
  DiscoReloadLink *link
      = link_alloc (ctx, socket, is_server, mode, expected_node_id, callbacks, user_data, error);
  if (link == NULL)
    return NULL;
  if (mode == DISCO_RELOAD_LINK_TLS && !start_tls (link, error))
    {
      disco_reload_link_unref (link);
      return NULL;
    }
  link->state = STATE_HANDSHAKE; /* plaintext: passes straight through */
  start_handshake_timer (link);
  describe (link);
  if (mode == DISCO_RELOAD_LINK_PLAINTEXT)
    g_message ("%s: TEST-ONLY plaintext RELOAD link", link->description);
  /* No reference held: teardown (close or last unref) destroys the source. */
  link->start_source = g_idle_source_new ();
  g_source_set_callback (link->start_source, on_start, link, NULL);
  g_source_attach (link->start_source, g_main_context_get_thread_default ());
  return link;
}

DiscoReloadLink *
disco_reload_link_connect (DiscoReloadLinkContext *ctx, GSocketAddress *address,
                           DiscoReloadLinkMode mode, const DiscoReloadNodeId *expected_node_id,
                           const DiscoReloadLinkCallbacks *callbacks, gpointer user_data,
                           GError **error)
{
  g_autoptr (GSocket) socket = g_socket_new (g_socket_address_get_family (address),
                                             G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  DiscoReloadLink *link
      = link_alloc (ctx, socket, FALSE, mode, expected_node_id, callbacks, user_data, error);
  if (link == NULL)
    return NULL;
  if (mode == DISCO_RELOAD_LINK_TLS && !start_tls (link, error))
    {
      disco_reload_link_unref (link);
      return NULL;
    }
  g_autoptr (GError) local = NULL;
  if (!g_socket_connect (socket, address, NULL, &local)
      && !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PENDING))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      disco_reload_link_unref (link);
      return NULL;
    }
  link->state = STATE_CONNECTING;
  start_handshake_timer (link);
  describe (link);
  if (link->description && g_str_has_suffix (link->description, "?"))
    {
      g_autofree char *text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
      g_free (link->description);
      link->description = g_strdup_printf (
          "%s link to %s", mode == DISCO_RELOAD_LINK_TLS ? "tls" : "plaintext", text);
    }
  link_update_watch (link);
  return link;
}

DiscoReloadLink *
disco_reload_link_ref (DiscoReloadLink *link)
{
  g_atomic_int_inc (&link->ref_count);
  return link;
}

void
disco_reload_link_unref (DiscoReloadLink *link)
{
  if (link == NULL || !g_atomic_int_dec_and_test (&link->ref_count))
    return;
  link_teardown (link);
  if (link->ssl)
    SSL_free (link->ssl);
  g_clear_object (&link->socket);
  g_byte_array_unref (link->inbuf);
  g_byte_array_unref (link->outbuf);
  g_clear_pointer (&link->peer_cert, disco_reload_cert_unref);
  g_free (link->description);
  disco_reload_link_context_unref (link->ctx);
  g_free (link);
}

void
disco_reload_link_close (DiscoReloadLink *link)
{
  if (link->state == STATE_CLOSED)
    return;
  if (link->ssl && link->state == STATE_OPEN && !link->shutdown_sent)
    {
      ERR_clear_error ();
      SSL_shutdown (link->ssl); /* best effort: a non-blocking close_notify */
      ERR_clear_error ();
      link->shutdown_sent = TRUE;
    }
  link_teardown (link);
}

void
disco_reload_link_close_after_flush (DiscoReloadLink *link)
{
  if (link->state == STATE_CLOSED || link->state == STATE_DRAINING)
    return;
  if (link->state != STATE_OPEN)
    {
      link_teardown (link);
      return;
    }
  link->state = STATE_DRAINING;
  link->read_paused = TRUE;
  link->draining_ref = TRUE;
  disco_reload_link_ref (link);
  /* Finish from the loop: the caller may be inside one of our callbacks. */
  if (link->watch)
    {
      g_source_destroy (link->watch);
      g_clear_pointer (&link->watch, g_source_unref);
    }
  link->watch_cond = G_IO_OUT;
  link->watch = g_socket_create_source (link->socket, G_IO_OUT | G_IO_ERR | G_IO_HUP, NULL);
  g_source_set_callback (link->watch, G_SOURCE_FUNC (on_socket_ready), link, NULL);
  g_source_attach (link->watch, g_main_context_get_thread_default ());
}

gboolean
disco_reload_link_is_established (DiscoReloadLink *link)
{
  return link->state == STATE_OPEN;
}

gboolean
disco_reload_link_is_open (DiscoReloadLink *link)
{
  return link->state != STATE_CLOSED;
}

DiscoReloadLinkMode
disco_reload_link_get_mode (DiscoReloadLink *link)
{
  return link->mode;
}

const DiscoReloadNodeId *
disco_reload_link_get_peer_node_id (DiscoReloadLink *link)
{
  return link->have_peer_node_id ? &link->peer_node_id : NULL;
}

void
disco_reload_link_set_peer_node_id (DiscoReloadLink *link, const DiscoReloadNodeId *id)
{
  link->peer_node_id = *id;
  link->have_peer_node_id = TRUE;
}

DiscoReloadCert *
disco_reload_link_get_peer_cert (DiscoReloadLink *link)
{
  return link->peer_cert;
}

GSocketAddress *
disco_reload_link_get_remote_address (DiscoReloadLink *link)
{
  return link->socket ? g_socket_get_remote_address (link->socket, NULL) : NULL;
}

const DiscoReloadRtt *
disco_reload_link_get_rtt (DiscoReloadLink *link)
{
  return &link->rtt;
}

const char *
disco_reload_link_describe (DiscoReloadLink *link)
{
  return link->description;
}
