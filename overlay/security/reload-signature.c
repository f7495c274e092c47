/* reload-signature.c: trust decisions and RSA/SHA-256 signatures for RELOAD
 * messages and StoredData. */
#define G_LOG_DOMAIN "disco-reload-security"

#include "reload-signature.h"
#include "reload-security-private.h"

#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* ---- trust ---------------------------------------------------------------- */

#define TRUST_CACHE_MAX 4096

typedef struct
{
  gint64 not_before;
  gint64 not_after;
} CacheEntry;

struct _DiscoReloadTrust
{
  X509_STORE *store;
  guint n_roots;
  gboolean self_signed;
  DiscoReloadDigest digest;
  GHashTable *bad_nodes; /* lower-case hex */
  char *overlay;
  gint64 time; /* 0 = wall clock */
  /* SHA-256(DER) -> validity of certificates that passed every check
   * except the date, so a storing peer verifies each chain once. */
  GHashTable *cache;
};

DiscoReloadTrust *
disco_reload_trust_new (const DiscoReloadConfig *config, GError **error)
{
  g_autoptr (DiscoReloadTrust) t = g_new0 (DiscoReloadTrust, 1);

  t->store = X509_STORE_new ();
  t->bad_nodes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  t->cache
      = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, g_free);
  t->self_signed = config->self_signed_permitted;
  t->digest = config->self_signed_digest;
  t->overlay = g_strdup (config->instance_name);
  for (guint i = 0; i < config->bad_nodes->len; i++)
    g_hash_table_add (t->bad_nodes, g_ascii_strdown (g_ptr_array_index (config->bad_nodes, i), -1));
  for (guint i = 0; i < config->root_certs->len; i++)
    {
      GBytes *der = g_ptr_array_index (config->root_certs, i);
      g_autoptr (DiscoReloadCert) root = disco_reload_cert_new_from_der (
          g_bytes_get_data (der, NULL), g_bytes_get_size (der), error);
      if (root == NULL)
        {
          g_prefix_error (error, "root-cert %u: ", i + 1);
          return NULL;
        }
      if (!disco_reload_trust_add_root (t, root, error))
        return NULL;
    }
  return g_steal_pointer (&t);
}

void
disco_reload_trust_free (DiscoReloadTrust *t)
{
  if (t == NULL)
    return;
  X509_STORE_free (t->store);
  g_hash_table_unref (t->bad_nodes);
  g_hash_table_unref (t->cache);
  g_free (t->overlay);
  g_free (t);
}

gboolean
disco_reload_trust_add_root (DiscoReloadTrust *t, const DiscoReloadCert *root, GError **error)
{
  if (X509_STORE_add_cert (t->store, root->x509) != 1)
    return disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_INVALID, "adding root");
  t->n_roots++;
  g_hash_table_remove_all (t->cache);
  return TRUE;
}

void
disco_reload_trust_set_time (DiscoReloadTrust *t, gint64 unix_time)
{
  t->time = unix_time;
}

static gint64
trust_now (const DiscoReloadTrust *t)
{
  return t->time ? t->time : g_get_real_time () / G_USEC_PER_SEC;
}

static gint64
asn1_time_to_unix (const ASN1_TIME *at)
{
  struct tm tm;

  if (ASN1_TIME_to_tm (at, &tm) != 1)
    return 0;
  return (gint64)timegm (&tm);
}

static gboolean
check_dates (const DiscoReloadTrust *t, gint64 nb, gint64 na, GError **error)
{
  gint64 now = trust_now (t);

  if (now < nb || now > na)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_EXPIRED,
                   "certificate is not valid at %" G_GINT64_FORMAT " (valid %" G_GINT64_FORMAT
                   "..%" G_GINT64_FORMAT ")",
                   now, nb, na);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_self_signed (const DiscoReloadTrust *t, const DiscoReloadCert *cert, GError **error)
{
  EVP_PKEY *pub = X509_get0_pubkey (cert->x509);
  guint n = cert->node_ids->len;

  /* Not X509_check_issued(): it wants keyCertSign, which an end-entity
   * certificate signing itself does not (and should not) carry. */
  if (pub == NULL
      || X509_NAME_cmp (X509_get_issuer_name (cert->x509), X509_get_subject_name (cert->x509)) != 0
      || X509_verify (cert->x509, pub) != 1)
    {
      ERR_clear_error ();
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED,
                   "certificate is neither issued by a root nor validly self-signed");
      return FALSE;
    }
  /* Verifiers MUST recompute the Node-IDs from the key (reload.md §9). */
  for (guint i = 0; i < n; i++)
    {
      DiscoReloadNodeId expect;
      const DiscoReloadNodeId *have = &g_array_index (cert->node_ids, DiscoReloadNodeId, i);

      if (!disco_reload_self_signed_node_id (pub, t->digest, i + 1, n, &expect)
          || memcmp (expect.id, have->id, sizeof expect.id) != 0)
        {
          g_autofree char *hex = disco_reload_node_id_to_hex (have);
          g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID,
                       "self-signed certificate claims Node-ID %s that its key does not give", hex);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_chain (const DiscoReloadTrust *t, const DiscoReloadCert *cert, GPtrArray *intermediates,
             GError **error)
{
  X509_STORE_CTX *ctx = X509_STORE_CTX_new ();
  STACK_OF (X509) *untrusted = sk_X509_new_null ();
  gboolean ok = FALSE;
  int err;

  for (guint i = 0; intermediates && i < intermediates->len; i++)
    {
      DiscoReloadCert *c = g_ptr_array_index (intermediates, i);
      if (c != cert)
        sk_X509_push (untrusted, c->x509);
    }
  if (ctx && X509_STORE_CTX_init (ctx, t->store, cert->x509, untrusted) == 1)
    {
      X509_STORE_CTX_set_time (ctx, 0, (time_t)trust_now (t));
      ok = X509_verify_cert (ctx) == 1;
      err = X509_STORE_CTX_get_error (ctx);
      if (!ok)
        g_set_error (error, DISCO_RELOAD_SECURITY_ERROR,
                     err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID
                         ? DISCO_RELOAD_SECURITY_ERROR_EXPIRED
                         : DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED,
                     "certificate chain: %s", X509_verify_cert_error_string (err));
    }
  else
    disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO, "chain verification");
  ERR_clear_error ();
  sk_X509_free (untrusted);
  X509_STORE_CTX_free (ctx);
  return ok;
}

gboolean
disco_reload_trust_verify_cert (DiscoReloadTrust *t, const DiscoReloadCert *cert,
                                GPtrArray *intermediates, GError **error)
{
  g_autoptr (GBytes) key = g_bytes_new (cert->sha256, sizeof cert->sha256);
  CacheEntry *hit = g_hash_table_lookup (t->cache, key);
  gint64 nb, na;
  g_autoptr (GError) chain_error = NULL;

  if (hit)
    return check_dates (t, hit->not_before, hit->not_after, error);

  if (cert->node_ids->len == 0)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID,
                   "certificate carries no RELOAD Node-ID");
      return FALSE;
    }
  for (guint i = 0; i < cert->node_ids->len; i++)
    {
      g_autofree char *hex
          = disco_reload_node_id_to_hex (&g_array_index (cert->node_ids, DiscoReloadNodeId, i));
      if (g_hash_table_contains (t->bad_nodes, hex))
        {
          g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID,
                       "Node-ID %s is listed as bad-node", hex);
          return FALSE;
        }
    }
  if (t->overlay && cert->overlay && g_ascii_strcasecmp (t->overlay, cert->overlay) != 0)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED,
                   "certificate is for overlay %s, not %s", cert->overlay, t->overlay);
      return FALSE;
    }
  nb = asn1_time_to_unix (X509_get0_notBefore (cert->x509));
  na = asn1_time_to_unix (X509_get0_notAfter (cert->x509));
  if (!check_dates (t, nb, na, error))
    return FALSE;

  if (t->n_roots == 0 || !check_chain (t, cert, intermediates, &chain_error))
    {
      if (!t->self_signed)
        {
          if (chain_error)
            g_propagate_error (error, g_steal_pointer (&chain_error));
          else
            g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED,
                         "no root certificate configured and self-signed not permitted");
          return FALSE;
        }
      if (!check_self_signed (t, cert, error))
        return FALSE;
    }

  if (g_hash_table_size (t->cache) >= TRUST_CACHE_MAX)
    g_hash_table_remove_all (t->cache);
  hit = g_new (CacheEntry, 1);
  hit->not_before = nb;
  hit->not_after = na;
  g_hash_table_insert (t->cache, g_steal_pointer (&key), hit);
  return TRUE;
}

/* ---- certificate pool ------------------------------------------------------ */

struct _DiscoReloadCertPool
{
  const DiscoReloadCertPool *fallback;
  GPtrArray *certs;      /* DiscoReloadCert*, owned */
  GHashTable *by_sha256; /* GBytes(32) -> DiscoReloadCert* (borrowed from certs) */
};

DiscoReloadCertPool *
disco_reload_cert_pool_new (void)
{
  DiscoReloadCertPool *pool = g_new0 (DiscoReloadCertPool, 1);

  pool->certs = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_cert_unref);
  pool->by_sha256
      = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify)g_bytes_unref, NULL);
  return pool;
}

void
disco_reload_cert_pool_free (DiscoReloadCertPool *pool)
{
  if (pool == NULL)
    return;
  g_hash_table_unref (pool->by_sha256);
  g_ptr_array_unref (pool->certs);
  g_free (pool);
}

void
disco_reload_cert_pool_add (DiscoReloadCertPool *pool, DiscoReloadCert *cert)
{
  GBytes *key = g_bytes_new (cert->sha256, sizeof cert->sha256);

  if (g_hash_table_contains (pool->by_sha256, key))
    {
      g_bytes_unref (key);
      return;
    }
  g_ptr_array_add (pool->certs, disco_reload_cert_ref (cert));
  g_hash_table_insert (pool->by_sha256, key, cert);
}

guint
disco_reload_cert_pool_add_security_block (DiscoReloadCertPool *pool,
                                           const DiscoReloadSecurityBlock *block)
{
  guint bad = 0;

  for (guint i = 0; block->certificates && i < block->certificates->len; i++)
    {
      DiscoReloadGenericCertificate *gc = g_ptr_array_index (block->certificates, i);
      g_autoptr (DiscoReloadCert) cert = NULL;

      if (gc->type != DISCO_RELOAD_CERT_X509 || gc->certificate == NULL)
        {
          bad++;
          continue;
        }
      cert = disco_reload_cert_new_from_der (g_bytes_get_data (gc->certificate, NULL),
                                             g_bytes_get_size (gc->certificate), NULL);
      if (cert == NULL)
        bad++;
      else
        disco_reload_cert_pool_add (pool, cert);
    }
  return bad;
}

guint
disco_reload_cert_pool_size (const DiscoReloadCertPool *pool)
{
  return pool->certs->len;
}

void
disco_reload_cert_pool_clear (DiscoReloadCertPool *pool)
{
  g_hash_table_remove_all (pool->by_sha256);
  g_ptr_array_set_size (pool->certs, 0);
}

void
disco_reload_cert_pool_set_fallback (DiscoReloadCertPool *pool, const DiscoReloadCertPool *fallback)
{
  g_return_if_fail (fallback != pool);
  pool->fallback = fallback;
}

GPtrArray *
disco_reload_cert_pool_list (const DiscoReloadCertPool *pool)
{
  return pool->certs;
}

void
disco_reload_signer_clear (DiscoReloadSigner *signer)
{
  g_clear_pointer (&signer->cert, disco_reload_cert_unref);
}

static const EVP_MD *
hash_md (guint8 alg)
{
  switch (alg)
    {
      case DISCO_RELOAD_HASH_SHA1:
        return EVP_sha1 ();
      case DISCO_RELOAD_HASH_SHA256:
        return EVP_sha256 ();
      default:
        return NULL;
    }
}

static void
hash_cert (const EVP_MD *md, const DiscoReloadNodeId *node_id, const DiscoReloadCert *cert,
           guint8 *out, unsigned int *out_len)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();

  EVP_DigestInit_ex (ctx, md, NULL);
  if (node_id)
    EVP_DigestUpdate (ctx, node_id->id, sizeof node_id->id);
  EVP_DigestUpdate (ctx, g_bytes_get_data (cert->der, NULL), g_bytes_get_size (cert->der));
  EVP_DigestFinal_ex (ctx, out, out_len);
  EVP_MD_CTX_free (ctx);
}

static gboolean
pool_resolve_one (const DiscoReloadCertPool *pool, const DiscoReloadSignerIdentity *identity,
                  DiscoReloadSigner *out, GError **error)
{
  const EVP_MD *md;
  const guint8 *want;
  gsize want_len = 0;

  memset (out, 0, sizeof *out);
  if (identity->type == DISCO_RELOAD_SIGNER_IDENTITY_NONE)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNSUPPORTED,
                   "signer identity is \"none\"");
      return FALSE;
    }
  md = hash_md (identity->hash_alg);
  if (md == NULL || identity->hash == NULL
      || (identity->type != DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH
          && identity->type != DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID))
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNSUPPORTED,
                   "signer identity type %d / hash %u not supported", identity->type,
                   identity->hash_alg);
      return FALSE;
    }
  want = g_bytes_get_data (identity->hash, &want_len);

  if (identity->type == DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH)
    {
      DiscoReloadCert *found = NULL;

      if (identity->hash_alg == DISCO_RELOAD_HASH_SHA256)
        found = g_hash_table_lookup (pool->by_sha256, identity->hash);
      else
        for (guint i = 0; !found && i < pool->certs->len; i++)
          {
            DiscoReloadCert *c = g_ptr_array_index (pool->certs, i);
            guint8 h[EVP_MAX_MD_SIZE];
            unsigned int hl = 0;
            hash_cert (md, NULL, c, h, &hl);
            if (hl == want_len && memcmp (h, want, hl) == 0)
              found = c;
          }
      if (found == NULL)
        goto unknown;
      /* cert_hash names the certificate only; with several Node-IDs it is
       * ambiguous, which is why the RFC mandates cert_hash_node_id then. */
      if (found->node_ids->len != 1)
        {
          g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID,
                       "cert_hash identity for a certificate with %u Node-IDs",
                       found->node_ids->len);
          return FALSE;
        }
      out->cert = disco_reload_cert_ref (found);
      out->node_id = g_array_index (found->node_ids, DiscoReloadNodeId, 0);
      return TRUE;
    }

  for (guint i = 0; i < pool->certs->len; i++)
    {
      DiscoReloadCert *c = g_ptr_array_index (pool->certs, i);
      for (guint j = 0; j < c->node_ids->len; j++)
        {
          const DiscoReloadNodeId *nid = &g_array_index (c->node_ids, DiscoReloadNodeId, j);
          guint8 h[EVP_MAX_MD_SIZE];
          unsigned int hl = 0;

          hash_cert (md, nid, c, h, &hl);
          if (hl == want_len && memcmp (h, want, hl) == 0)
            {
              out->cert = disco_reload_cert_ref (c);
              out->node_id = *nid;
              return TRUE;
            }
        }
    }

unknown:
  g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNKNOWN_SIGNER,
               "no known certificate matches the signer identity");
  return FALSE;
}

gboolean
disco_reload_cert_pool_resolve (const DiscoReloadCertPool *pool,
                                const DiscoReloadSignerIdentity *identity, DiscoReloadSigner *out,
                                GError **error)
{
  guint depth = 0;

  for (;;)
    {
      g_autoptr (GError) local = NULL;

      if (pool_resolve_one (pool, identity, out, &local))
        return TRUE;
      /* Bounded in case someone builds a fallback cycle. */
      if (pool->fallback == NULL || local->code != DISCO_RELOAD_SECURITY_ERROR_UNKNOWN_SIGNER
          || ++depth > 8)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      pool = pool->fallback;
    }
}

/* ---- signing primitives ----------------------------------------------------- */

gboolean
disco_reload_identity_signer_identity (const DiscoReloadIdentity *id,
                                       const DiscoReloadNodeId *node_id,
                                       DiscoReloadSignerIdentity *out, GError **error)
{
  const DiscoReloadCert *cert = id->cert;
  guint8 h[EVP_MAX_MD_SIZE];
  unsigned int hl = 0;

  memset (out, 0, sizeof *out);
  if (cert->node_ids->len == 0 || (node_id && !disco_reload_cert_has_node_id (cert, node_id)))
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID,
                   "the certificate does not carry the requested Node-ID");
      return FALSE;
    }
  out->hash_alg = DISCO_RELOAD_HASH_SHA256;
  if (cert->node_ids->len == 1)
    {
      out->type = DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH;
      out->hash = g_bytes_new (cert->sha256, sizeof cert->sha256);
    }
  else
    {
      if (node_id == NULL)
        node_id = &g_array_index (cert->node_ids, DiscoReloadNodeId, 0);
      hash_cert (EVP_sha256 (), node_id, cert, h, &hl);
      out->type = DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH_NODE_ID;
      out->hash = g_bytes_new (h, hl);
    }
  return TRUE;
}

GBytes *
disco_reload_identity_sign_bytes (const DiscoReloadIdentity *id, const guint8 *data, gsize len,
                                  GError **error)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  gsize sig_len = 0;
  guint8 *sig = NULL;
  GBytes *out = NULL;

  /* RSASSA-PKCS1-v1_5 is OpenSSL's default RSA signature padding. */
  if (ctx && EVP_DigestSignInit (ctx, NULL, EVP_sha256 (), NULL, id->key) == 1
      && EVP_DigestSign (ctx, NULL, &sig_len, data, len) == 1)
    {
      sig = g_malloc (sig_len);
      if (EVP_DigestSign (ctx, sig, &sig_len, data, len) == 1)
        out = g_bytes_new_take (g_steal_pointer (&sig), sig_len);
    }
  g_free (sig);
  EVP_MD_CTX_free (ctx);
  if (out == NULL)
    disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO, "RSA signing");
  return out;
}

gboolean
disco_reload_cert_verify_bytes (const DiscoReloadCert *cert, const guint8 *data, gsize len,
                                GBytes *signature, GError **error)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  EVP_PKEY *pub = X509_get0_pubkey (cert->x509);
  gsize sig_len = 0;
  const guint8 *sig = signature ? g_bytes_get_data (signature, &sig_len) : NULL;
  gboolean ok;

  ok = ctx && pub && EVP_PKEY_get_base_id (pub) == EVP_PKEY_RSA && sig_len > 0
       && EVP_DigestVerifyInit (ctx, NULL, EVP_sha256 (), NULL, pub) == 1
       && EVP_DigestVerify (ctx, sig, sig_len, data, len) == 1;
  EVP_MD_CTX_free (ctx);
  ERR_clear_error ();
  if (!ok)
    g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_BAD_SIGNATURE,
                 "signature does not verify");
  return ok;
}

static gboolean
check_algorithm (const DiscoReloadSignature *sig, GError **error)
{
  if (sig->identity.type == DISCO_RELOAD_SIGNER_IDENTITY_NONE)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNSUPPORTED,
                   "unsigned (identity none)");
      return FALSE;
    }
  if (sig->hash_alg != DISCO_RELOAD_HASH_SHA256 || sig->sig_alg != DISCO_RELOAD_SIG_RSA)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_UNSUPPORTED,
                   "signature algorithm {%u,%u} is not RSA/SHA-256", sig->hash_alg, sig->sig_alg);
      return FALSE;
    }
  return TRUE;
}

static void
set_signature (DiscoReloadSignature *sig, DiscoReloadSignerIdentity *ident, GBytes *value)
{
  disco_reload_signature_clear (sig);
  sig->hash_alg = DISCO_RELOAD_HASH_SHA256;
  sig->sig_alg = DISCO_RELOAD_SIG_RSA;
  sig->identity = *ident; /* moved */
  memset (ident, 0, sizeof *ident);
  sig->value = value;
}

static void
ensure_cert (DiscoReloadSecurityBlock *block, const DiscoReloadCert *cert)
{
  for (guint i = 0; i < block->certificates->len; i++)
    {
      DiscoReloadGenericCertificate *gc = g_ptr_array_index (block->certificates, i);
      if (gc->certificate && g_bytes_equal (gc->certificate, cert->der))
        return;
    }
  g_ptr_array_add (block->certificates,
                   disco_reload_generic_certificate_new (DISCO_RELOAD_CERT_X509, cert->der));
}

/* ---- messages ---------------------------------------------------------------- */

gboolean
disco_reload_sign_message (const DiscoReloadIdentity *id, const DiscoReloadNodeId *node_id,
                           DiscoReloadMessage *msg, GError **error)
{
  DiscoReloadSignerIdentity ident;
  g_autoptr (GByteArray) input = g_byte_array_new ();
  GBytes *value;

  if (!disco_reload_identity_signer_identity (id, node_id, &ident, error))
    return FALSE;
  if (!disco_reload_message_signature_input (msg, &ident, input, error)
      || (value = disco_reload_identity_sign_bytes (id, input->data, input->len, error)) == NULL)
    {
      disco_reload_signer_identity_clear (&ident);
      return FALSE;
    }
  set_signature (&msg->security.signature, &ident, value);
  ensure_cert (&msg->security, id->cert);
  for (guint i = 0; i < id->chain->len; i++)
    ensure_cert (&msg->security, g_ptr_array_index (id->chain, i));
  return TRUE;
}

static gboolean
resolve_two (const DiscoReloadCertPool *a, const DiscoReloadCertPool *b,
             const DiscoReloadSignerIdentity *identity, DiscoReloadSigner *out, GError **error)
{
  g_autoptr (GError) first = NULL;

  if (disco_reload_cert_pool_resolve (a, identity, out, &first))
    return TRUE;
  if (b == NULL || first->code != DISCO_RELOAD_SECURITY_ERROR_UNKNOWN_SIGNER)
    {
      g_propagate_error (error, g_steal_pointer (&first));
      return FALSE;
    }
  return disco_reload_cert_pool_resolve (b, identity, out, error);
}

gboolean
disco_reload_verify_message (DiscoReloadTrust *trust, const DiscoReloadCertPool *extra,
                             const DiscoReloadMessage *msg, const guint8 *wire, gsize wire_len,
                             DiscoReloadSigner *signer_out, GError **error)
{
  g_autoptr (DiscoReloadCertPool) pool = disco_reload_cert_pool_new ();
  g_autoptr (GPtrArray) inter = g_ptr_array_new ();
  g_autoptr (GByteArray) input = g_byte_array_new ();
  DiscoReloadSigner signer = { 0 };
  const DiscoReloadSignature *sig = &msg->security.signature;

  if (!check_algorithm (sig, error))
    return FALSE;
  disco_reload_cert_pool_add_security_block (pool, &msg->security);
  if (!resolve_two (pool, extra, &sig->identity, &signer, error))
    return FALSE;
  g_ptr_array_extend (inter, pool->certs, NULL, NULL);
  if (extra)
    g_ptr_array_extend (inter, extra->certs, NULL, NULL);
  if (!disco_reload_trust_verify_cert (trust, signer.cert, inter, error))
    goto fail;
  if (wire ? !disco_reload_message_signature_input_from_wire (wire, wire_len, input, error)
           : !disco_reload_message_signature_input (msg, &sig->identity, input, error))
    goto fail;
  if (!disco_reload_cert_verify_bytes (signer.cert, input->data, input->len, sig->value, error))
    goto fail;
  if (signer_out)
    *signer_out = signer;
  else
    disco_reload_signer_clear (&signer);
  return TRUE;

fail:
  disco_reload_signer_clear (&signer);
  return FALSE;
}

/* ---- stored data ------------------------------------------------------------------ */

gboolean
disco_reload_sign_stored_data (const DiscoReloadIdentity *id, const DiscoReloadNodeId *node_id,
                               const DiscoReloadResourceId *resource, DiscoReloadKindId kind,
                               DiscoReloadStoredData *sd, GError **error)
{
  DiscoReloadSignerIdentity ident;
  g_autoptr (GByteArray) input = g_byte_array_new ();
  GBytes *value;

  if (!disco_reload_identity_signer_identity (id, node_id, &ident, error))
    return FALSE;
  if (!disco_reload_stored_data_signature_input (resource, kind, sd, &ident, input, error)
      || (value = disco_reload_identity_sign_bytes (id, input->data, input->len, error)) == NULL)
    {
      disco_reload_signer_identity_clear (&ident);
      return FALSE;
    }
  set_signature (&sd->signature, &ident, value);
  return TRUE;
}

gboolean
disco_reload_verify_stored_data (DiscoReloadTrust *trust, const DiscoReloadCertPool *pool,
                                 const DiscoReloadResourceId *resource, DiscoReloadKindId kind,
                                 const DiscoReloadStoredData *sd, DiscoReloadSigner *signer_out,
                                 GError **error)
{
  g_autoptr (GByteArray) input = g_byte_array_new ();
  DiscoReloadSigner signer = { 0 };

  if (!check_algorithm (&sd->signature, error)
      || !disco_reload_cert_pool_resolve (pool, &sd->signature.identity, &signer, error))
    return FALSE;
  if (!disco_reload_trust_verify_cert (trust, signer.cert, pool->certs, error)
      || !disco_reload_stored_data_signature_input (resource, kind, sd, &sd->signature.identity,
                                                    input, error)
      || !disco_reload_cert_verify_bytes (signer.cert, input->data, input->len, sd->signature.value,
                                          error))
    {
      disco_reload_signer_clear (&signer);
      return FALSE;
    }
  if (signer_out)
    *signer_out = signer;
  else
    disco_reload_signer_clear (&signer);
  return TRUE;
}
