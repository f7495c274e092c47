/* dtls-link.c: DTLS (OpenSSL, memory BIOs) over an ICE pair, with the RELOAD
 * framing header for simple reliability (RFC 6940 §5.6.3.1 / DTLS-UDP-SR). */
#define G_LOG_DOMAIN "disco-ice"

#include "disco-ice.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>

#include "reload-framing.h"

#define SR_RTO_US (500 * G_TIME_SPAN_MILLISECOND) /* static RTO, RFC 6940 §5.6.3.1 */
#define SR_MAX_TRANSMISSIONS 5
#define DTLS_MTU 1200

typedef struct
{
  guint32 sequence;
  GBytes *frame; /* DATA header + payload */
  guint transmissions;
  gint64 next_us;
} Pending;

struct _DiscoDtlsLink
{
  DiscoIceSession *session;
  DiscoReloadIdentity *identity;
  DiscoReloadNodeId expected;
  gboolean active;
  gsize max_message_size;
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *rbio, *wbio; /* owned by ssl */
  gboolean connected, failed;
  GSource *dtls_timer;
  GSource *sr_timer;
  GMainContext *context;
  guint32 next_sequence;
  GQueue pending; /* Pending*, oldest first */
  DiscoReloadAckTracker acks;
  guint drop_every, data_count;
  guint64 retransmissions;
  DiscoDtlsEventFunc event_func;
  DiscoDtlsMessageFunc message_func;
  gpointer user_data;
};

static void
pending_free (Pending *p)
{
  g_bytes_unref (p->frame);
  g_free (p);
}

static void fail (DiscoDtlsLink *self, int code, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static void
fail (DiscoDtlsLink *self, int code, const char *fmt, ...)
{
  va_list ap;
  g_autoptr (GError) error = NULL;

  if (self->failed)
    return;
  self->failed = TRUE;
  va_start (ap, fmt);
  error = g_error_new_valist (DISCO_ICE_ERROR, code, fmt, ap);
  va_end (ap);
  g_message ("DTLS link failed: %s", error->message);
  if (self->event_func)
    self->event_func (self, DISCO_DTLS_EVENT_FAILED, error, self->user_data);
}

/* Sends whatever OpenSSL wrote as one datagram: records of one flight share it. */
static void
flush_wbio (DiscoDtlsLink *self)
{
  char buf[16384 + 512];
  int n;

  while ((n = BIO_read (self->wbio, buf, sizeof buf)) > 0)
    {
      g_autoptr (GError) error = NULL;
      if (!disco_ice_session_send (self->session, (const guint8 *)buf, n, &error))
        g_debug ("DTLS datagram not sent: %s", error->message);
    }
}

static gboolean on_dtls_timer (gpointer user_data);

static void
schedule_dtls_timer (DiscoDtlsLink *self)
{
  struct timeval tv;

  if (self->dtls_timer)
    {
      g_source_destroy (self->dtls_timer);
      g_clear_pointer (&self->dtls_timer, g_source_unref);
    }
  if (self->connected || self->failed || !DTLSv1_get_timeout (self->ssl, &tv))
    return;
  self->dtls_timer = g_timeout_source_new (tv.tv_sec * 1000 + tv.tv_usec / 1000 + 1);
  g_source_set_callback (self->dtls_timer, on_dtls_timer, self, NULL);
  g_source_attach (self->dtls_timer, self->context);
}

static gboolean
check_peer (DiscoDtlsLink *self)
{
  X509 *peer = SSL_get1_peer_certificate (self->ssl);
  g_autoptr (GError) error = NULL;

  if (peer == NULL)
    {
      fail (self, DISCO_ICE_ERROR_PEER_IDENTITY, "peer sent no certificate");
      return FALSE;
    }
  g_autoptr (DiscoReloadCert) cert = disco_reload_cert_new_from_x509 (peer, &error);
  X509_free (peer);
  if (cert == NULL)
    {
      fail (self, DISCO_ICE_ERROR_PEER_IDENTITY, "peer certificate: %s", error->message);
      return FALSE;
    }
  if (!disco_reload_cert_has_node_id (cert, &self->expected))
    {
      g_autofree char *hex = disco_reload_node_id_to_hex (&self->expected);
      fail (self, DISCO_ICE_ERROR_PEER_IDENTITY, "peer certificate does not carry Node-ID %s", hex);
      return FALSE;
    }
  return TRUE;
}

static void
drive_handshake (DiscoDtlsLink *self)
{
  int rc = SSL_do_handshake (self->ssl);
  flush_wbio (self);
  if (rc == 1)
    {
      if (!check_peer (self))
        return;
      self->connected = TRUE;
      schedule_dtls_timer (self);
      g_debug ("DTLS connected (%s)", SSL_get_cipher (self->ssl));
      if (self->event_func)
        self->event_func (self, DISCO_DTLS_EVENT_CONNECTED, NULL, self->user_data);
      return;
    }
  int err = SSL_get_error (self->ssl, rc);
  if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
    {
      char msg[256];
      ERR_error_string_n (ERR_get_error (), msg, sizeof msg);
      fail (self, DISCO_ICE_ERROR_DTLS, "DTLS handshake failed: %s", msg);
      return;
    }
  schedule_dtls_timer (self);
}

static gboolean
on_dtls_timer (gpointer user_data)
{
  DiscoDtlsLink *self = user_data;

  g_clear_pointer (&self->dtls_timer, g_source_unref);
  if (DTLSv1_handle_timeout (self->ssl) < 0)
    fail (self, DISCO_ICE_ERROR_TIMEOUT, "DTLS handshake timed out");
  else
    {
      flush_wbio (self);
      schedule_dtls_timer (self);
    }
  return G_SOURCE_REMOVE;
}

static void
write_record (DiscoDtlsLink *self, const guint8 *data, gsize len)
{
  if (SSL_write (self->ssl, data, (int)len) <= 0)
    fail (self, DISCO_ICE_ERROR_DTLS, "DTLS write failed");
  flush_wbio (self);
}

static gboolean on_sr_timer (gpointer user_data);

static void
schedule_sr_timer (DiscoDtlsLink *self)
{
  if (self->sr_timer || g_queue_is_empty (&self->pending) || self->failed)
    return;
  self->sr_timer = g_timeout_source_new (SR_RTO_US / 1000 / 4);
  g_source_set_callback (self->sr_timer, on_sr_timer, self, NULL);
  g_source_attach (self->sr_timer, self->context);
}

static gboolean
on_sr_timer (gpointer user_data)
{
  DiscoDtlsLink *self = user_data;
  gint64 now = g_get_monotonic_time ();

  g_clear_pointer (&self->sr_timer, g_source_unref);
  for (GList *l = self->pending.head; l && !self->failed; l = l->next)
    {
      Pending *p = l->data;
      if (p->next_us > now)
        continue;
      if (p->transmissions >= SR_MAX_TRANSMISSIONS)
        {
          fail (self, DISCO_ICE_ERROR_TIMEOUT, "DATA %u unacknowledged after %u transmissions",
                p->sequence, p->transmissions);
          return G_SOURCE_REMOVE;
        }
      gsize len;
      const guint8 *frame = g_bytes_get_data (p->frame, &len);
      p->transmissions++;
      p->next_us = now + SR_RTO_US;
      self->retransmissions++;
      write_record (self, frame, len);
    }
  schedule_sr_timer (self);
  return G_SOURCE_REMOVE;
}

/* ACK: ack_sequence is acknowledged, and the bitmap the ones before it,
 * in the convention of DiscoReloadAckTracker (disco_reload_ack_covers). */
static void
handle_ack (DiscoDtlsLink *self, guint32 ack_sequence, guint32 received)
{
  GList *l = self->pending.head;
  while (l)
    {
      GList *next = l->next;
      Pending *p = l->data;
      gboolean acked = disco_reload_ack_covers (ack_sequence, received, p->sequence);
      if (acked)
        {
          pending_free (p);
          g_queue_delete_link (&self->pending, l);
        }
      l = next;
    }
}

static void
handle_record (DiscoDtlsLink *self, const guint8 *data, gsize len)
{
  DiscoReloadFrame frame;
  g_autoptr (GError) error = NULL;
  gssize used = disco_reload_frame_parse (data, len, self->max_message_size, &frame, &error);

  if (used <= 0 || (gsize)used != len)
    {
      g_message ("dropping malformed frame (%zu bytes): %s", len,
                 error ? error->message : "length mismatch");
      return;
    }
  if (frame.type == DISCO_RELOAD_FRAME_ACK)
    {
      handle_ack (self, frame.sequence, frame.received);
      return;
    }

  gboolean duplicate = FALSE;
  guint32 bitmap = disco_reload_ack_tracker_receive (&self->acks, frame.sequence, &duplicate);
  guint8 ack[DISCO_RELOAD_FRAME_ACK_LEN];
  disco_reload_frame_write_ack (ack, frame.sequence, bitmap);
  write_record (self, ack, sizeof ack);
  if (!duplicate && self->message_func)
    self->message_func (self, frame.payload, frame.payload_len, self->user_data);
}

static void
on_datagram (DiscoIceSession *session, const guint8 *data, gsize len, gpointer user_data)
{
  DiscoDtlsLink *self = user_data;
  guint8 buf[16384 + 64];

  if (self->failed)
    return;
  BIO_write (self->rbio, data, (int)len);
  if (!self->connected)
    {
      drive_handshake (self);
      if (!self->connected)
        return;
    }
  for (;;)
    {
      int n = SSL_read (self->ssl, buf, sizeof buf);
      if (n > 0)
        {
          handle_record (self, buf, n);
          continue;
        }
      int err = SSL_get_error (self->ssl, n);
      if (err == SSL_ERROR_ZERO_RETURN)
        {
          self->failed = TRUE;
          if (self->event_func)
            self->event_func (self, DISCO_DTLS_EVENT_CLOSED, NULL, self->user_data);
        }
      else if (err != SSL_ERROR_WANT_READ)
        fail (self, DISCO_ICE_ERROR_DTLS, "DTLS read failed");
      break;
    }
  flush_wbio (self);
}

/* The Node-ID check replaces PKIX path validation here: self-signed peers are
 * legitimate in RELOAD, and chain trust is checked on signed messages. */
static int
accept_any (int preverify, X509_STORE_CTX *ctx)
{
  return 1;
}

DiscoDtlsLink *
disco_dtls_link_new (DiscoIceSession *session, DiscoReloadIdentity *identity,
                     const DiscoReloadNodeId *expected_peer, gboolean active,
                     gsize max_message_size, GError **error)
{
  DiscoDtlsLink *self = g_new0 (DiscoDtlsLink, 1);

  self->session = session;
  self->identity = disco_reload_identity_ref (identity);
  self->expected = *expected_peer;
  self->active = active;
  self->max_message_size
      = max_message_size ? max_message_size : DISCO_RELOAD_DEFAULT_MAX_MESSAGE_SIZE;
  self->context = g_main_context_ref_thread_default ();
  g_queue_init (&self->pending);
  disco_reload_ack_tracker_init (&self->acks);
  self->next_sequence = g_random_int ();

  self->ctx = SSL_CTX_new (DTLS_method ());
  if (self->ctx == NULL || SSL_CTX_use_certificate (self->ctx, identity->cert->x509) != 1
      || SSL_CTX_use_PrivateKey (self->ctx, identity->key) != 1)
    {
      char msg[256];
      ERR_error_string_n (ERR_get_error (), msg, sizeof msg);
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_DTLS,
                   "cannot load the identity into DTLS: %s", msg);
      disco_dtls_link_free (self);
      return NULL;
    }
  SSL_CTX_set_min_proto_version (self->ctx, DTLS1_2_VERSION);
  SSL_CTX_set_verify (self->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, accept_any);
  self->ssl = SSL_new (self->ctx);
  self->rbio = BIO_new (BIO_s_mem ());
  self->wbio = BIO_new (BIO_s_mem ());
  BIO_set_mem_eof_return (self->rbio, -1);
  SSL_set_bio (self->ssl, self->rbio, self->wbio);
  SSL_set_options (self->ssl, SSL_OP_NO_QUERY_MTU);
  SSL_set_mtu (self->ssl, DTLS_MTU);
  DTLS_set_link_mtu (self->ssl, DTLS_MTU);
  if (active)
    SSL_set_connect_state (self->ssl);
  else
    SSL_set_accept_state (self->ssl);

  disco_ice_session_set_callbacks (session, NULL, on_datagram, self);
  return self;
}

void
disco_dtls_link_set_callbacks (DiscoDtlsLink *self, DiscoDtlsEventFunc event_func,
                               DiscoDtlsMessageFunc message_func, gpointer user_data)
{
  self->event_func = event_func;
  self->message_func = message_func;
  self->user_data = user_data;
}

gboolean
disco_dtls_link_start (DiscoDtlsLink *self, GError **error)
{
  if (disco_ice_session_get_state (self->session) != DISCO_ICE_STATE_CONNECTED)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_NOT_CONNECTED, "ICE is not connected");
      return FALSE;
    }
  if (self->active)
    drive_handshake (self);
  return TRUE;
}

gboolean
disco_dtls_link_send (DiscoDtlsLink *self, const guint8 *data, gsize len, GError **error)
{
  if (!self->connected || self->failed)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_NOT_CONNECTED, "DTLS link is not up");
      return FALSE;
    }
  if (len > self->max_message_size)
    {
      g_set_error (error, DISCO_ICE_ERROR, DISCO_ICE_ERROR_TOO_LARGE,
                   "message of %zu bytes exceeds max-message-size %zu", len,
                   self->max_message_size);
      return FALSE;
    }
  Pending *p = g_new0 (Pending, 1);
  p->sequence = self->next_sequence++;
  p->frame = disco_reload_frame_encode_data (p->sequence, data, len, error);
  if (p->frame == NULL)
    {
      g_free (p);
      return FALSE;
    }
  p->transmissions = 1;
  p->next_us = g_get_monotonic_time () + SR_RTO_US;
  g_queue_push_tail (&self->pending, p);
  gsize flen;
  const guint8 *frame = g_bytes_get_data (p->frame, &flen);
  self->data_count++;
  if (!self->drop_every || self->data_count % self->drop_every != 0)
    write_record (self, frame, flen);
  schedule_sr_timer (self);
  return !self->failed;
}

void
disco_dtls_link_set_drop_every (DiscoDtlsLink *self, guint n)
{
  self->drop_every = n;
}

guint64
disco_dtls_link_get_retransmissions (DiscoDtlsLink *self)
{
  return self->retransmissions;
}

void
disco_dtls_link_free (DiscoDtlsLink *self)
{
  if (self == NULL)
    return;
  if (self->session)
    disco_ice_session_set_callbacks (self->session, NULL, NULL, NULL);
  if (self->dtls_timer)
    {
      g_source_destroy (self->dtls_timer);
      g_source_unref (self->dtls_timer);
    }
  if (self->sr_timer)
    {
      g_source_destroy (self->sr_timer);
      g_source_unref (self->sr_timer);
    }
  g_queue_clear_full (&self->pending, (GDestroyNotify)pending_free);
  if (self->ssl)
    SSL_free (self->ssl);
  if (self->ctx)
    SSL_CTX_free (self->ctx);
  g_clear_pointer (&self->identity, disco_reload_identity_unref);
  g_main_context_unref (self->context);
  g_free (self);
}
