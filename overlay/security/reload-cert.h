/* reload-cert.h: RELOAD certificates (RFC 6940 §11.3, §13).
 *
 * A DiscoReloadCert wraps one X.509 certificate with what RELOAD reads from
 * it: the Node-IDs (subjectAltName URIs "reload://0110<hex>@<overlay>/") and
 * the user name (the one rfc822Name).  Parsing accepts the deviations seen
 * in deployed code: a missing trailing "/", upper-case hex, and a bare
 * Node-ID (exactly 16 bytes of hex without Destination type/length).
 *
 * Ownership: DiscoReloadCert is reference counted and immutable; it owns its
 * X509 (one reference) and DER bytes.
 */
#pragma once

#include <glib.h>
#include <openssl/x509.h>

#include "reload-wire.h"

G_BEGIN_DECLS

#define DISCO_RELOAD_SECURITY_ERROR (disco_reload_security_error_quark ())
GQuark disco_reload_security_error_quark (void);

typedef enum
{
  DISCO_RELOAD_SECURITY_ERROR_INVALID,        /* malformed certificate, CSR, key or input */
  DISCO_RELOAD_SECURITY_ERROR_UNKNOWN_SIGNER, /* no certificate matches the signer identity */
  DISCO_RELOAD_SECURITY_ERROR_UNTRUSTED, /* chain does not reach a root / self-signed rules fail */
  DISCO_RELOAD_SECURITY_ERROR_EXPIRED,   /* certificate not valid at the check time */
  DISCO_RELOAD_SECURITY_ERROR_BAD_NODE_ID,   /* Node-ID does not match key / is a bad-node */
  DISCO_RELOAD_SECURITY_ERROR_BAD_SIGNATURE, /* signature value does not verify */
  DISCO_RELOAD_SECURITY_ERROR_UNSUPPORTED,   /* algorithm or identity type we do not do */
  DISCO_RELOAD_SECURITY_ERROR_CRYPTO,        /* OpenSSL failed (out of memory, ...) */
  DISCO_RELOAD_SECURITY_ERROR_IO,
  /* enrollment (the token is the RFC 6940 §11.3 error body) */
  DISCO_RELOAD_SECURITY_ERROR_BAD_CSR,                /* "bad_CSR" */
  DISCO_RELOAD_SECURITY_ERROR_USERNAME_NOT_AVAILABLE, /* "username_not_available" */
  DISCO_RELOAD_SECURITY_ERROR_NODE_IDS_NOT_AVAILABLE, /* "Node-IDs_not_available" */
} DiscoReloadSecurityError;

typedef struct
{
  gint ref_count; /* private */
  X509 *x509;
  GBytes *der;
  GArray *node_ids;  /* DiscoReloadNodeId, in SAN order; may be empty */
  char *user_name;   /* the rfc822Name, or NULL */
  char *overlay;     /* overlay of the first reload:// URI, or NULL */
  guint8 sha256[32]; /* SHA-256(DER): the cert_hash with hash_alg sha256 */
} DiscoReloadCert;

/* Parses a DER certificate.  Fails only on undecodable DER or a malformed
 * reload:// URI; a certificate without Node-IDs or user name parses (the
 * caller decides whether that is acceptable). */
DiscoReloadCert *disco_reload_cert_new_from_der (const guint8 *der, gsize len, GError **error);
/* Takes a new reference on @x509. */
DiscoReloadCert *disco_reload_cert_new_from_x509 (X509 *x509, GError **error);
DiscoReloadCert *disco_reload_cert_ref (DiscoReloadCert *cert);
void disco_reload_cert_unref (DiscoReloadCert *cert);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadCert, disco_reload_cert_unref)

/* Parsed certificates are shared through a small process-wide cache keyed by
 * the DER's SHA-256; this drops it (tests checking for leaks, shutdown). */
void disco_reload_cert_cache_clear (void);

gboolean disco_reload_cert_has_node_id (const DiscoReloadCert *cert, const DiscoReloadNodeId *id);

/* "reload://0110<hex>@<overlay>/" for @id (the RFC 6940 §14.15 form). */
char *disco_reload_node_id_to_uri (const DiscoReloadNodeId *id, const char *overlay);
/* Parses a reload:// URI naming one peer.  *@overlay_out (may be NULL) gets
 * the overlay name.  Accepts the deviations listed above. */
gboolean disco_reload_node_id_from_uri (const char *uri, DiscoReloadNodeId *id, char **overlay_out,
                                        GError **error);
/* Lower-case hex, 32 characters. */
char *disco_reload_node_id_to_hex (const DiscoReloadNodeId *id);
gboolean disco_reload_node_id_from_hex (const char *hex, DiscoReloadNodeId *id);

/* The overlay hash of a Resource Name for CHORD-RELOAD: SHA-1(@name)
 * truncated to 16 bytes. */
void disco_reload_resource_id_from_name (const guint8 *name, gsize len, DiscoReloadResourceId *rid);

G_END_DECLS
