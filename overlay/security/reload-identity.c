/* reload-identity.c: keys, self-signed RELOAD certificates, CSRs, PEM files. */
#define G_LOG_DOMAIN "disco-reload-security"

#include "reload-identity.h"
#include "reload-security-private.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <string.h>

#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

gboolean
disco_reload_set_ssl_error (GError **error, int code, const char *what)
{
  unsigned long e = ERR_get_error ();
  char buf[256] = "";

  if (e != 0)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, code, "%s%s%s", what, buf[0] ? ": " : "", buf);
  return FALSE;
}

gboolean
disco_reload_user_name_valid (const char *user)
{
  const char *at;
  gsize n;

  if (user == NULL)
    return FALSE;
  n = strlen (user);
  at = strchr (user, '@');
  if (n < 3 || n > 255 || at == NULL || at == user || at[1] == '\0' || strchr (at + 1, '@'))
    return FALSE;
  for (const char *p = user; *p; p++)
    if ((guchar)*p <= 0x20 || (guchar)*p >= 0x7f)
      return FALSE;
  return TRUE;
}

EVP_PKEY *
disco_reload_key_generate (guint bits, GError **error)
{
  EVP_PKEY *key;

  if (bits == 0)
    bits = DISCO_RELOAD_DEFAULT_KEY_BITS;
  if (bits < 1024 || bits > 8192)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                   "RSA key size %u outside 1024..8192", bits);
      return NULL;
    }
  key = EVP_RSA_gen (bits);
  if (key == NULL)
    disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO, "RSA key generation");
  return key;
}

/* Self-signed Node-ID derivation: digest(SPKI) or digest(uint32 BE i || SPKI). */
gboolean
disco_reload_self_signed_node_id (EVP_PKEY *key, DiscoReloadDigest digest, guint index, guint n_ids,
                                  DiscoReloadNodeId *out)
{
  unsigned char *spki = NULL;
  int spki_len = i2d_PUBKEY (key, &spki);
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  guint8 buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  gboolean ok;

  ok = spki_len > 0 && md != NULL
       && EVP_DigestInit_ex (md, digest == DISCO_RELOAD_DIGEST_SHA1 ? EVP_sha1 () : EVP_sha256 (),
                             NULL)
              == 1;
  if (ok && n_ids > 1)
    {
      guint32 be = GUINT32_TO_BE (index);
      ok = EVP_DigestUpdate (md, &be, 4) == 1;
    }
  ok = ok && EVP_DigestUpdate (md, spki, spki_len) == 1 && EVP_DigestFinal_ex (md, buf, &len) == 1
       && len >= DISCO_RELOAD_NODE_ID_LENGTH;
  if (ok)
    memcpy (out->id, buf, DISCO_RELOAD_NODE_ID_LENGTH);
  EVP_MD_CTX_free (md);
  OPENSSL_free (spki);
  return ok;
}

/* Adds the critical subjectAltName RFC 6940 §11.3 prescribes: one reload://
 * URI per Node-ID and the user name as rfc822Name. */
gboolean
disco_reload_add_san (X509 *x509, const GArray *node_ids, const char *overlay, const char *user)
{
  GENERAL_NAMES *names = sk_GENERAL_NAME_new_null ();
  gboolean ok = names != NULL;

  for (guint i = 0; ok && i < node_ids->len; i++)
    {
      g_autofree char *uri
          = disco_reload_node_id_to_uri (&g_array_index (node_ids, DiscoReloadNodeId, i), overlay);
      GENERAL_NAME *gn = GENERAL_NAME_new ();
      ASN1_IA5STRING *s = ASN1_IA5STRING_new ();

      ok = gn && s && ASN1_STRING_set (s, uri, -1) == 1;
      if (ok)
        {
          GENERAL_NAME_set0_value (gn, GEN_URI, s);
          s = NULL;
          ok = sk_GENERAL_NAME_push (names, gn) > 0;
          if (ok)
            gn = NULL;
        }
      ASN1_IA5STRING_free (s);
      GENERAL_NAME_free (gn);
    }
  if (ok && user)
    {
      GENERAL_NAME *gn = GENERAL_NAME_new ();
      ASN1_IA5STRING *s = ASN1_IA5STRING_new ();

      ok = gn && s && ASN1_STRING_set (s, user, -1) == 1;
      if (ok)
        {
          GENERAL_NAME_set0_value (gn, GEN_EMAIL, s);
          s = NULL;
          ok = sk_GENERAL_NAME_push (names, gn) > 0;
          if (ok)
            gn = NULL;
        }
      ASN1_IA5STRING_free (s);
      GENERAL_NAME_free (gn);
    }
  /* Critical because the subject DN is empty (RFC 5280 §4.2.1.6). */
  ok = ok && X509_add1_ext_i2d (x509, NID_subject_alt_name, names, 1, X509V3_ADD_DEFAULT) == 1;
  GENERAL_NAMES_free (names);
  return ok;
}

gboolean
disco_reload_set_serial_and_validity (X509 *x509, guint days)
{
  guint8 rnd[16];
  BIGNUM *bn;
  gboolean ok;

  if (RAND_bytes (rnd, sizeof rnd) != 1)
    return FALSE;
  rnd[0] &= 0x7f; /* positive */
  bn = BN_bin2bn (rnd, sizeof rnd, NULL);
  ok = bn && BN_to_ASN1_INTEGER (bn, X509_get_serialNumber (x509)) != NULL;
  BN_free (bn);
  /* One hour of slack for peers whose clocks run a little behind. */
  ok = ok && X509_gmtime_adj (X509_getm_notBefore (x509), -3600) != NULL
       && X509_time_adj_ex (X509_getm_notAfter (x509),
                            days ? (int)days : DISCO_RELOAD_DEFAULT_CERT_DAYS, 0, NULL)
              != NULL;
  return ok && X509_set_version (x509, 2) == 1;
}

static gboolean
add_ext_conf (X509 *x509, X509 *issuer, int nid, const char *value)
{
  X509V3_CTX ctx;
  X509_EXTENSION *ext;
  gboolean ok;

  X509V3_set_ctx (&ctx, issuer, x509, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
  ok = ext != NULL && X509_add_ext (x509, ext, -1) == 1;
  X509_EXTENSION_free (ext);
  return ok;
}

gboolean
disco_reload_add_end_entity_exts (X509 *x509, X509 *issuer)
{
  return add_ext_conf (x509, issuer, NID_basic_constraints, "critical,CA:FALSE")
         && add_ext_conf (x509, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment")
         && add_ext_conf (x509, issuer, NID_ext_key_usage, "serverAuth,clientAuth");
}

gboolean
disco_reload_add_ca_exts (X509 *x509)
{
  return add_ext_conf (x509, x509, NID_basic_constraints, "critical,CA:TRUE")
         && add_ext_conf (x509, x509, NID_key_usage, "critical,keyCertSign,cRLSign")
         && add_ext_conf (x509, x509, NID_subject_key_identifier, "hash");
}

/* ---- identity ----------------------------------------------------------- */

static DiscoReloadIdentity *
identity_alloc (EVP_PKEY *key, DiscoReloadCert *cert)
{
  DiscoReloadIdentity *id = g_new0 (DiscoReloadIdentity, 1);

  id->ref_count = 1;
  EVP_PKEY_up_ref (key);
  id->key = key;
  id->cert = cert;
  id->chain = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_cert_unref);
  return id;
}

DiscoReloadIdentity *
disco_reload_identity_ref (DiscoReloadIdentity *id)
{
  g_atomic_int_inc (&id->ref_count);
  return id;
}

void
disco_reload_identity_unref (DiscoReloadIdentity *id)
{
  if (id == NULL || !g_atomic_int_dec_and_test (&id->ref_count))
    return;
  EVP_PKEY_free (id->key);
  disco_reload_cert_unref (id->cert);
  g_ptr_array_unref (id->chain);
  g_free (id);
}

const DiscoReloadNodeId *
disco_reload_identity_get_node_id (const DiscoReloadIdentity *id)
{
  if (id->cert->node_ids->len == 0)
    return NULL;
  return &g_array_index (id->cert->node_ids, DiscoReloadNodeId, 0);
}

const char *
disco_reload_identity_get_user_name (const DiscoReloadIdentity *id)
{
  return id->cert->user_name;
}

DiscoReloadIdentity *
disco_reload_identity_new_self_signed (const char *user_name, const char *overlay,
                                       DiscoReloadDigest digest, guint n_node_ids, guint key_bits,
                                       guint days, GError **error)
{
  EVP_PKEY *key = NULL;
  X509 *x509 = NULL;
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));
  DiscoReloadCert *cert;
  DiscoReloadIdentity *id = NULL;

  if (!disco_reload_user_name_valid (user_name) || overlay == NULL || overlay[0] == '\0'
      || n_node_ids < 1 || n_node_ids > DISCO_RELOAD_MAX_NODE_IDS)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                   "need a user@domain user name, an overlay and 1..%d Node-IDs",
                   DISCO_RELOAD_MAX_NODE_IDS);
      return NULL;
    }
  key = disco_reload_key_generate (key_bits, error);
  if (key == NULL)
    return NULL;
  for (guint i = 1; i <= n_node_ids; i++)
    {
      DiscoReloadNodeId nid;
      if (!disco_reload_self_signed_node_id (key, digest, i, n_node_ids, &nid))
        {
          disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO, "Node-ID digest");
          goto out;
        }
      g_array_append_val (ids, nid);
    }

  x509 = X509_new ();
  /* Empty subject and (self-signed) issuer, as RFC 6940 §11.3 requires. */
  if (x509 == NULL || !disco_reload_set_serial_and_validity (x509, days)
      || X509_set_pubkey (x509, key) != 1 || !disco_reload_add_san (x509, ids, overlay, user_name)
      || !disco_reload_add_end_entity_exts (x509, x509)
      || X509_sign (x509, key, EVP_sha256 ()) <= 0)
    {
      disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO,
                                  "building self-signed certificate");
      goto out;
    }
  cert = disco_reload_cert_new_from_x509 (x509, error);
  if (cert)
    id = identity_alloc (key, cert);

out:
  X509_free (x509);
  EVP_PKEY_free (key);
  return id;
}

DiscoReloadIdentity *
disco_reload_identity_new (EVP_PKEY *key, GBytes *cert_der, GPtrArray *chain_der, GError **error)
{
  g_autoptr (DiscoReloadCert) cert = NULL;
  g_autoptr (DiscoReloadIdentity) id = NULL;

  cert = disco_reload_cert_new_from_der (g_bytes_get_data (cert_der, NULL),
                                         g_bytes_get_size (cert_der), error);
  if (cert == NULL)
    return NULL;
  if (X509_check_private_key (cert->x509, key) != 1)
    {
      ERR_clear_error ();
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                   "private key does not match the certificate");
      return NULL;
    }
  id = identity_alloc (key, g_steal_pointer (&cert));
  for (guint i = 0; chain_der && i < chain_der->len; i++)
    {
      GBytes *b = g_ptr_array_index (chain_der, i);
      DiscoReloadCert *c = disco_reload_cert_new_from_der (g_bytes_get_data (b, NULL),
                                                           g_bytes_get_size (b), error);
      if (c == NULL)
        return NULL;
      g_ptr_array_add (id->chain, c);
    }
  return g_steal_pointer (&id);
}

/* ---- CSR ------------------------------------------------------------------ */

GBytes *
disco_reload_csr_new (EVP_PKEY *key, const char *user_name, GError **error)
{
  X509_REQ *req = X509_REQ_new ();
  STACK_OF (X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null ();
  X509 *tmp = X509_new ();
  unsigned char *der = NULL;
  int der_len = 0;
  GBytes *out = NULL;
  g_autoptr (GArray) none = g_array_new (FALSE, FALSE, sizeof (DiscoReloadNodeId));

  if (!disco_reload_user_name_valid (user_name))
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                   "user name \"%s\" is not user@domain", user_name ? user_name : "");
      goto out;
    }
  /* Build the SAN on a scratch certificate to reuse the same encoder, then
   * move the extension into the request's extensionRequest attribute. */
  if (req == NULL || exts == NULL || tmp == NULL || X509_REQ_set_version (req, 0) != 1
      || X509_REQ_set_pubkey (req, key) != 1 || !disco_reload_add_san (tmp, none, "", user_name)
      || sk_X509_EXTENSION_push (exts, X509_EXTENSION_dup (X509_get_ext (tmp, 0))) <= 0
      || X509_REQ_add_extensions (req, exts) != 1 || X509_REQ_sign (req, key, EVP_sha256 ()) <= 0
      || (der_len = i2d_X509_REQ (req, &der)) <= 0)
    {
      disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO, "building CSR");
      goto out;
    }
  out = g_bytes_new (der, der_len);

out:
  OPENSSL_free (der);
  sk_X509_EXTENSION_pop_free (exts, X509_EXTENSION_free);
  X509_free (tmp);
  X509_REQ_free (req);
  return out;
}

/* ---- PEM files ------------------------------------------------------------ */

gboolean
disco_reload_write_file (const char *dir, const char *name, BIO *mem, int mode, GError **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *tmp = g_strconcat (path, ".tmp", NULL);
  char *data = NULL;
  long len = BIO_get_mem_data (mem, &data);
  int fd;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_IO,
                   "cannot create %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  /* Created with the final mode so a private key is never world-readable. */
  fd = g_open (tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0 || write (fd, data, len) != len || fsync (fd) != 0)
    {
      int e = errno;
      if (fd >= 0)
        close (fd);
      g_unlink (tmp);
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_IO,
                   "cannot write %s: %s", path, g_strerror (e));
      return FALSE;
    }
  close (fd);
  if (g_rename (tmp, path) != 0)
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_IO,
                   "cannot rename %s: %s", tmp, g_strerror (errno));
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}

gboolean
disco_reload_save_key_cert (EVP_PKEY *key, X509 *cert, GPtrArray *chain, const char *dir,
                            const char *key_name, const char *cert_name, GError **error)
{
  BIO *kb = BIO_new (BIO_s_mem ());
  BIO *cb = BIO_new (BIO_s_mem ());
  gboolean ok = kb && cb && PEM_write_bio_PrivateKey (kb, key, NULL, NULL, 0, NULL, NULL) == 1
                && PEM_write_bio_X509 (cb, cert) == 1;

  for (guint i = 0; ok && chain && i < chain->len; i++)
    ok = PEM_write_bio_X509 (cb, ((DiscoReloadCert *)g_ptr_array_index (chain, i))->x509) == 1;
  if (!ok)
    disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_CRYPTO, "PEM encoding");
  else
    ok = disco_reload_write_file (dir, key_name, kb, 0600, error)
         && disco_reload_write_file (dir, cert_name, cb, 0644, error);
  BIO_free (kb);
  BIO_free (cb);
  return ok;
}

gboolean
disco_reload_load_key_cert (const char *dir, const char *key_name, const char *cert_name,
                            EVP_PKEY **key_out, GPtrArray **certs_out, GError **error)
{
  g_autofree char *kpath = g_build_filename (dir, key_name, NULL);
  g_autofree char *cpath = g_build_filename (dir, cert_name, NULL);
  g_autofree char *kdata = NULL, *cdata = NULL;
  gsize klen = 0, clen = 0;
  g_autoptr (GError) local = NULL;
  BIO *bio;
  EVP_PKEY *key;
  GPtrArray *certs;
  X509 *x;

  if (!g_file_get_contents (kpath, &kdata, &klen, &local)
      || !g_file_get_contents (cpath, &cdata, &clen, &local))
    {
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_IO, "%s",
                   local->message);
      return FALSE;
    }
  bio = BIO_new_mem_buf (kdata, (int)klen);
  key = bio ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL) : NULL;
  BIO_free (bio);
  if (key == NULL || EVP_PKEY_get_base_id (key) != EVP_PKEY_RSA)
    {
      EVP_PKEY_free (key);
      return disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                                         "no RSA private key in PEM file");
    }
  certs = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_cert_unref);
  bio = BIO_new_mem_buf (cdata, (int)clen);
  while (bio && certs->len < 16 && (x = PEM_read_bio_X509 (bio, NULL, NULL, NULL)) != NULL)
    {
      DiscoReloadCert *c = disco_reload_cert_new_from_x509 (x, error);
      X509_free (x);
      if (c == NULL)
        {
          BIO_free (bio);
          EVP_PKEY_free (key);
          g_ptr_array_unref (certs);
          return FALSE;
        }
      g_ptr_array_add (certs, c);
    }
  BIO_free (bio);
  ERR_clear_error (); /* PEM_read_bio_X509 reports the end of input as an error */
  if (certs->len == 0)
    {
      EVP_PKEY_free (key);
      g_ptr_array_unref (certs);
      g_set_error (error, DISCO_RELOAD_SECURITY_ERROR, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                   "%s holds no certificate", cpath);
      return FALSE;
    }
  if (X509_check_private_key (((DiscoReloadCert *)certs->pdata[0])->x509, key) != 1)
    {
      EVP_PKEY_free (key);
      g_ptr_array_unref (certs);
      return disco_reload_set_ssl_error (error, DISCO_RELOAD_SECURITY_ERROR_INVALID,
                                         "private key does not match the certificate");
    }
  *key_out = key;
  *certs_out = certs;
  return TRUE;
}

gboolean
disco_reload_identity_save (const DiscoReloadIdentity *id, const char *dir, GError **error)
{
  return disco_reload_save_key_cert (id->key, id->cert->x509, id->chain, dir, "reload-key.pem",
                                     "reload-cert.pem", error);
}

DiscoReloadIdentity *
disco_reload_identity_load (const char *dir, GError **error)
{
  EVP_PKEY *key = NULL;
  GPtrArray *certs = NULL;
  DiscoReloadIdentity *id;

  if (!disco_reload_load_key_cert (dir, "reload-key.pem", "reload-cert.pem", &key, &certs, error))
    return NULL;
  id = identity_alloc (key, disco_reload_cert_ref (certs->pdata[0]));
  for (guint i = 1; i < certs->len; i++)
    g_ptr_array_add (id->chain, disco_reload_cert_ref (certs->pdata[i]));
  EVP_PKEY_free (key);
  g_ptr_array_unref (certs);
  return id;
}
