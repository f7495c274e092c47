/* reload-link-context.c: the TLS settings shared by all links of a node, and
 * the listener that accepts them. */
#define G_LOG_DOMAIN "disco-link"

#include "reload-link-private.h"

#include <openssl/err.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>

static int keylog_index = -1;

static int
accept_any_cert (int preverify_ok, X509_STORE_CTX *store)
{
  /* RELOAD certificates are often self-signed and carry an empty subject, so
   * OpenSSL's chain check cannot decide; disco_reload_link_check_peer() does
   * the real check once the handshake is over, before any message flows. */
  return 1;
}

static void
keylog_cb (const SSL *ssl, const char *line)
{
  DiscoReloadLinkContext *ctx = SSL_CTX_get_ex_data (SSL_get_SSL_CTX (ssl), keylog_index);
  if (ctx && ctx->keylog)
    {
      fprintf (ctx->keylog, "%s\n", line);
      fflush (ctx->keylog);
    }
}

static gboolean
set_error_from_ssl (GError **error, const char *what)
{
  char buf[256] = "";
  unsigned long e = ERR_get_error ();
  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TLS, "%s%s%s", what,
               buf[0] ? ": " : "", buf);
  return FALSE;
}

DiscoReloadLinkContext *
disco_reload_link_context_new (const DiscoReloadLinkSettings *s, GError **error)
{
  static gsize once = 0;
  if (g_once_init_enter (&once))
    {
      keylog_index = SSL_CTX_get_ex_new_index (0, NULL, NULL, NULL, NULL);
      g_once_init_leave (&once, 1);
    }

  g_autoptr (DiscoReloadLinkContext) ctx = g_new0 (DiscoReloadLinkContext, 1);
  ctx->ref_count = 1;
  ctx->config
      = s->config ? disco_reload_config_ref (s->config) : disco_reload_config_new_default ();
  ctx->max_message_size = s->max_message_size ? s->max_message_size : ctx->config->max_message_size;
  if (ctx->max_message_size == 0)
    ctx->max_message_size = DISCO_RELOAD_DEFAULT_MAX_MESSAGE_SIZE;
  /* TEST ONLY, and only with both keys: the owner's request and the
   * overlay configuration's <disco:plaintext-test-links>. */
  if (s->allow_plaintext && !ctx->config->plaintext_test_links)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PLAINTEXT,
                   "plaintext test links were requested but the overlay configuration does not "
                   "enable them (<disco:plaintext-test-links> in namespace %s)",
                   DISCO_RELOAD_NS_DISCO);
      return NULL;
    }
  ctx->allow_plaintext = s->allow_plaintext;
  ctx->handshake_timeout_ms = s->handshake_timeout_ms ? s->handshake_timeout_ms : 15000;
  ctx->trust = disco_reload_trust_new (ctx->config, error);
  if (ctx->trust == NULL)
    return NULL;
  for (guint i = 0; s->extra_roots && i < s->extra_roots->len; i++)
    if (!disco_reload_trust_add_root (ctx->trust, s->extra_roots->pdata[i], error))
      return NULL;

  if (s->keylog_path)
    {
      ctx->keylog = fopen (s->keylog_path, "a");
      if (ctx->keylog == NULL)
        {
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                       "cannot open key log file %s: %s", s->keylog_path, g_strerror (errno));
          return NULL;
        }
    }

  if (s->identity == NULL)
    {
      if (!s->allow_plaintext)
        {
          g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_TLS,
                       "TLS links need a certificate and its private key");
          return NULL;
        }
      return g_steal_pointer (&ctx);
    }
  ctx->identity = disco_reload_identity_ref (s->identity);

  ctx->ssl_ctx = SSL_CTX_new (TLS_method ());
  if (ctx->ssl_ctx == NULL)
    {
      set_error_from_ssl (error, "cannot create a TLS context");
      return NULL;
    }
  SSL_CTX_set_min_proto_version (ctx->ssl_ctx, TLS1_2_VERSION);
  /* A peer that just closes TCP is a closed link, not a TLS error. */
  SSL_CTX_set_options (ctx->ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_CTX_use_certificate (ctx->ssl_ctx, s->identity->cert->x509) != 1
      || SSL_CTX_use_PrivateKey (ctx->ssl_ctx, s->identity->key) != 1
      || SSL_CTX_check_private_key (ctx->ssl_ctx) != 1)
    {
      set_error_from_ssl (error, "the certificate and private key do not fit together");
      return NULL;
    }
  for (guint i = 0; s->identity->chain && i < s->identity->chain->len; i++)
    {
      DiscoReloadCert *c = s->identity->chain->pdata[i];
      if (SSL_CTX_add1_chain_cert (ctx->ssl_ctx, c->x509) != 1)
        {
          set_error_from_ssl (error, "cannot add a chain certificate");
          return NULL;
        }
    }
  /* Mutual TLS both ways: every RELOAD node presents its certificate. */
  SSL_CTX_set_verify (ctx->ssl_ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                      accept_any_cert);
  SSL_CTX_set_session_cache_mode (ctx->ssl_ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets (ctx->ssl_ctx, 0); /* links are long-lived: no resumption */
  SSL_CTX_set_ex_data (ctx->ssl_ctx, keylog_index, ctx);
  if (ctx->keylog)
    SSL_CTX_set_keylog_callback (ctx->ssl_ctx, keylog_cb);
  return g_steal_pointer (&ctx);
}

DiscoReloadLinkContext *
disco_reload_link_context_ref (DiscoReloadLinkContext *ctx)
{
  g_atomic_int_inc (&ctx->ref_count);
  return ctx;
}

void
disco_reload_link_context_unref (DiscoReloadLinkContext *ctx)
{
  if (ctx == NULL || !g_atomic_int_dec_and_test (&ctx->ref_count))
    return;
  if (ctx->ssl_ctx)
    SSL_CTX_free (ctx->ssl_ctx);
  g_clear_pointer (&ctx->trust, disco_reload_trust_free);
  g_clear_pointer (&ctx->identity, disco_reload_identity_unref);
  g_clear_pointer (&ctx->config, disco_reload_config_unref);
  if (ctx->keylog)
    fclose (ctx->keylog);
  g_free (ctx);
}

gsize
disco_reload_link_context_get_max_message_size (DiscoReloadLinkContext *ctx)
{
  return ctx->max_message_size;
}

DiscoReloadTrust *
disco_reload_link_context_get_trust (DiscoReloadLinkContext *ctx)
{
  return ctx->trust;
}

DiscoReloadConfig *
disco_reload_link_context_get_config (DiscoReloadLinkContext *ctx)
{
  return ctx->config;
}

gboolean
disco_reload_link_check_peer (DiscoReloadLinkContext *ctx, SSL *ssl,
                              const DiscoReloadNodeId *expected, DiscoReloadCert **cert_out,
                              DiscoReloadNodeId *node_out, GError **error)
{
  X509 *peer = SSL_get0_peer_certificate (ssl);
  if (peer == NULL)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PEER_CERT,
                   "the peer presented no certificate");
      return FALSE;
    }
  g_autoptr (GError) local = NULL;
  g_autoptr (DiscoReloadCert) cert = disco_reload_cert_new_from_x509 (peer, &local);
  if (cert == NULL)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PEER_CERT,
                   "peer certificate: %s", local->message);
      return FALSE;
    }
  /* The chain as sent, minus the end-entity certificate (clients see it
   * first in the list, servers do not). */
  g_autoptr (GPtrArray) intermediates
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_cert_unref);
  STACK_OF (X509) *chain = SSL_get_peer_cert_chain (ssl);
  for (int i = 0; chain && i < sk_X509_num (chain); i++)
    {
      X509 *x = sk_X509_value (chain, i);
      if (X509_cmp (x, peer) == 0)
        continue;
      DiscoReloadCert *c = disco_reload_cert_new_from_x509 (x, NULL);
      if (c)
        g_ptr_array_add (intermediates, c);
    }
  if (!disco_reload_trust_verify_cert (ctx->trust, cert, intermediates, &local))
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PEER_CERT,
                   "peer certificate not acceptable: %s", local->message);
      return FALSE;
    }
  if (cert->node_ids->len == 0)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PEER_CERT,
                   "peer certificate carries no Node-ID");
      return FALSE;
    }
  if (expected && !disco_reload_cert_has_node_id (cert, expected))
    {
      g_autofree char *want = disco_reload_node_id_to_hex (expected);
      g_autofree char *got
          = disco_reload_node_id_to_hex (&g_array_index (cert->node_ids, DiscoReloadNodeId, 0));
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PEER_CERT,
                   "peer certificate is for Node-ID %s, expected %s", got, want);
      return FALSE;
    }
  *node_out = expected ? *expected : g_array_index (cert->node_ids, DiscoReloadNodeId, 0);
  *cert_out = g_steal_pointer (&cert);
  return TRUE;
}

/* ---- listener ---------------------------------------------------------- */

struct _DiscoReloadListener
{
  DiscoReloadLinkContext *ctx;
  DiscoReloadLinkMode mode;
  GSocket *socket;
  GInetSocketAddress *address;
  GSource *watch;
  DiscoReloadAcceptFunc accepted;
  DiscoReloadLinkCallbacks callbacks;
  gpointer user_data;
};

static gboolean
on_accept (GSocket *socket, GIOCondition cond, gpointer user_data)
{
  DiscoReloadListener *l = user_data;

  for (int i = 0; i < 64; i++) /* bounded so one busy listener cannot starve the loop */
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) conn = g_socket_accept (l->socket, NULL, &error);
      if (conn == NULL)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            g_warning ("accept failed: %s", error->message);
          break;
        }
      g_socket_set_option (conn, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      DiscoReloadLink *link = disco_reload_link_new (l->ctx, conn, TRUE, l->mode, NULL,
                                                     &l->callbacks, l->user_data, &error);
      if (link == NULL)
        {
          g_warning ("refusing a connection: %s", error->message);
          continue;
        }
      l->accepted (l, link, l->user_data);
    }
  return G_SOURCE_CONTINUE;
}

DiscoReloadListener *
disco_reload_listener_new (DiscoReloadLinkContext *ctx, GInetSocketAddress *address,
                           DiscoReloadLinkMode mode, DiscoReloadAcceptFunc accepted,
                           const DiscoReloadLinkCallbacks *link_callbacks, gpointer user_data,
                           GError **error)
{
  if (mode == DISCO_RELOAD_LINK_PLAINTEXT && !ctx->allow_plaintext)
    {
      g_set_error (error, DISCO_RELOAD_LINK_ERROR, DISCO_RELOAD_LINK_ERROR_PLAINTEXT,
                   "plaintext RELOAD links are a test-only mode and this configuration does not "
                   "enable them");
      return NULL;
    }
  g_autoptr (DiscoReloadListener) l = g_new0 (DiscoReloadListener, 1);
  l->ctx = disco_reload_link_context_ref (ctx);
  l->mode = mode;
  l->accepted = accepted;
  if (link_callbacks)
    l->callbacks = *link_callbacks;
  l->user_data = user_data;

  GSocketFamily family = g_inet_address_get_family (g_inet_socket_address_get_address (address));
  l->socket = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (l->socket == NULL)
    return NULL;
  if (!g_socket_bind (l->socket, G_SOCKET_ADDRESS (address), TRUE, error)
      || !g_socket_listen (l->socket, error))
    return NULL;
  g_socket_set_blocking (l->socket, FALSE);
  GSocketAddress *local = g_socket_get_local_address (l->socket, error);
  if (local == NULL)
    return NULL;
  l->address = G_INET_SOCKET_ADDRESS (local);
  l->watch = g_socket_create_source (l->socket, G_IO_IN, NULL);
  g_source_set_callback (l->watch, G_SOURCE_FUNC (on_accept), l, NULL);
  g_source_attach (l->watch, g_main_context_get_thread_default ());
  return g_steal_pointer (&l);
}

GInetSocketAddress *
disco_reload_listener_get_address (DiscoReloadListener *l)
{
  return l->address;
}

void
disco_reload_listener_free (DiscoReloadListener *l)
{
  if (l == NULL)
    return;
  if (l->watch)
    {
      g_source_destroy (l->watch);
      g_source_unref (l->watch);
    }
  if (l->socket)
    g_socket_close (l->socket, NULL);
  g_clear_object (&l->socket);
  g_clear_object (&l->address);
  disco_reload_link_context_unref (l->ctx);
  g_free (l);
}
