/* reload-security-private.h: helpers shared inside overlay/security/. */
#pragma once

#include <openssl/bio.h>
#include <openssl/x509.h>

#include "reload-identity.h"

G_BEGIN_DECLS

/* Sets @error from the OpenSSL error queue (and clears it); returns FALSE. */
gboolean disco_reload_set_ssl_error (GError **error, int code, const char *what);
gboolean disco_reload_user_name_valid (const char *user);
gboolean disco_reload_self_signed_node_id (EVP_PKEY *key, DiscoReloadDigest digest, guint index,
                                           guint n_ids, DiscoReloadNodeId *out);
gboolean disco_reload_add_san (X509 *x509, const GArray *node_ids, const char *overlay,
                               const char *user);
gboolean disco_reload_set_serial_and_validity (X509 *x509, guint days);
gboolean disco_reload_add_end_entity_exts (X509 *x509, X509 *issuer);
gboolean disco_reload_add_ca_exts (X509 *x509);
gboolean disco_reload_write_file (const char *dir, const char *name, BIO *mem, int mode,
                                  GError **error);
gboolean disco_reload_save_key_cert (EVP_PKEY *key, X509 *cert, GPtrArray *chain, const char *dir,
                                     const char *key_name, const char *cert_name, GError **error);
/* *@certs_out: DiscoReloadCert*, the first one matching *@key_out. */
gboolean disco_reload_load_key_cert (const char *dir, const char *key_name, const char *cert_name,
                                     EVP_PKEY **key_out, GPtrArray **certs_out, GError **error);

G_END_DECLS
