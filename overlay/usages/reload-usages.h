/* reload-usages.h: the values of the kinds DisCo uses, inside DataValue.value.
 *
 *  - ResourceNameExtension (RFC 8076 §5.2): prefix of every USER-CHAIN-ACL
 *    kind's value when variable resource names are enabled for that kind.
 *  - ACCESS-CONTROL-LIST (Kind 4, RFC 8076 §6.1): AccessControlListItem.
 *  - SIP-REGISTRATION (Kind 1, RFC 7904 §3): SipRegistration and the storing
 *    peer's domain-restriction check.
 *  - CERTIFICATE_BY_NODE (3) / CERTIFICATE_BY_USER (16) (RFC 6940 §8): the
 *    value is one DER certificate.
 *  - DISCO-REGISTRATION (disco.md §3.2 (c)).
 *
 * Decoders are strict (exact lengths, no trailing bytes) and bounded.
 * Ownership: every struct owns its strings, GBytes and arrays; release with
 * its _clear function.  Decoders fill an uninitialised struct and leave it
 * cleared on failure.
 */
#pragma once

#include <glib.h>

#include "reload-cert.h"
#include "reload-config.h"
#include "reload-identity.h"
#include "reload-signature.h"
#include "reload-wire.h"

G_BEGIN_DECLS

#define DISCO_RELOAD_USAGE_ERROR (disco_reload_usage_error_quark ())
GQuark disco_reload_usage_error_quark (void);

typedef enum
{
  DISCO_RELOAD_USAGE_ERROR_MALFORMED, /* bytes do not decode */
  DISCO_RELOAD_USAGE_ERROR_TOO_LONG,  /* a field does not fit its length prefix */
  DISCO_RELOAD_USAGE_ERROR_FORBIDDEN, /* decodes, but the storing peer must refuse it */
} DiscoReloadUsageError;

/* ---- ResourceNameExtension ------------------------------------------------- */

#define DISCO_RELOAD_RESOURCE_NAME_PATTERN 1

/* Appends { type=pattern(1), uint16 length, opaque resource_name<0..2^16-1> }. */
gboolean disco_reload_resource_name_ext_encode (const char *name, GByteArray *out, GError **error);
/* Reads one from the start of @data; *@consumed gets its size.  The name is
 * returned NUL-terminated; names containing NUL are malformed. */
gboolean disco_reload_resource_name_ext_decode (const guint8 *data, gsize len, char **name_out,
                                                gsize *consumed, GError **error);

/* ---- ACCESS-CONTROL-LIST ----------------------------------------------------- */

typedef struct
{
  char *resource_name; /* ResourceNameExtension, NULL when the kind has none */
  char *to_user;       /* user name granted write access */
  DiscoReloadKindId kind;
  gboolean allow_delegation;
} DiscoReloadAclItem;

void disco_reload_acl_item_clear (DiscoReloadAclItem *item);
/* @item->resource_name decides whether the extension is written. */
GBytes *disco_reload_acl_item_encode (const DiscoReloadAclItem *item, GError **error);
/* @with_name_ext: the ACL kind has variable resource names enabled. */
gboolean disco_reload_acl_item_decode (const guint8 *data, gsize len, gboolean with_name_ext,
                                       DiscoReloadAclItem *out, GError **error);

/* ShaRe array index for a writer: lsb24(Node-ID) << 8 | counter (RFC 8076 §3.1). */
guint32 disco_reload_share_array_index (const DiscoReloadNodeId *node_id, guint8 counter);

/* ---- SIP-REGISTRATION ---------------------------------------------------------- */

typedef enum
{
  DISCO_RELOAD_SIP_REGISTRATION_URI = 1,
  DISCO_RELOAD_SIP_REGISTRATION_ROUTE = 2,
} DiscoReloadSipRegistrationType;

typedef struct
{
  DiscoReloadSipRegistrationType type;
  char *uri;            /* URI: another AOR */
  char *contact_prefs;  /* ROUTE: RFC 3840 feature parameters, may be "" */
  GArray *destinations; /* ROUTE: DiscoReloadDestination, at least one */
} DiscoReloadSipRegistration;

void disco_reload_sip_registration_clear (DiscoReloadSipRegistration *reg);
GBytes *disco_reload_sip_registration_encode (const DiscoReloadSipRegistration *reg,
                                              GError **error);
gboolean disco_reload_sip_registration_decode (const guint8 *data, gsize len,
                                               DiscoReloadSipRegistration *out, GError **error);

/* "sip:alice%40x@example.org" -> "alice@x@example.org"-style normalisation
 * of RFC 7904 §3.2: strip sip:/sips:, %-decode.  NULL if malformed. */
char *disco_reload_aor_normalize (const char *aor);

/* The storing peer's RFC 7904 checks beyond USER-NODE-MATCH: the value
 * decodes, and the AOR (@user_name, the signer's rfc822Name) is admissible
 * under @kind's domain restriction (absent: any domain; present but
 * disabled: only the overlay's own domain; enabled: a pattern must match the
 * domain).  FORBIDDEN / MALFORMED errors. */
gboolean disco_reload_sip_registration_check (const DiscoReloadConfig *config,
                                              const DiscoReloadKindConfig *kind,
                                              const char *user_name, const guint8 *value, gsize len,
                                              GError **error);

/* ---- certificates ---------------------------------------------------------------- */

/* Resource-IDs where a node stores its certificate: H(user name) for
 * CERTIFICATE_BY_USER, H(Node-ID) for CERTIFICATE_BY_NODE. */
void disco_reload_certificate_resource_by_user (const char *user_name, DiscoReloadResourceId *rid);
void disco_reload_certificate_resource_by_node (const DiscoReloadNodeId *node_id,
                                                DiscoReloadResourceId *rid);

/* A signed array StoredData (append) carrying @id's DER certificate, for
 * Kind @kind (3 or 16) at @resource, storage_time @now_ms. */
DiscoReloadStoredData *disco_reload_certificate_value_new (const DiscoReloadIdentity *id,
                                                           DiscoReloadKindId kind,
                                                           const DiscoReloadResourceId *resource,
                                                           guint64 now_ms, guint32 lifetime,
                                                           GError **error);

/* Adds every certificate found in @ans's CERTIFICATE_BY_NODE / _BY_USER
 * values (exists = TRUE) to @pool, so they can verify later signatures.
 * Returns how many were added. */
guint disco_reload_cert_pool_add_fetch_ans (DiscoReloadCertPool *pool,
                                            const DiscoReloadFetchAns *ans);

/* ---- DISCO-REGISTRATION ------------------------------------------------------------ */

#define DISCO_RELOAD_DISCO_REGISTRATION_VERSION 1

typedef struct
{
  char *resource_name; /* ResourceNameExtension, NULL when the kind has none */
  guint8 version;      /* DISCO_RELOAD_DISCO_REGISTRATION_VERSION */
  GBytes *coordinate;  /* opaque<0..2^16-1>, may be NULL */
  GArray *dest_list;   /* DiscoReloadDestination, may be empty */
  guint16 max_participants;
  guint16 cur_participants;
} DiscoReloadDiscoRegistration;

void disco_reload_disco_registration_init (DiscoReloadDiscoRegistration *reg);
void disco_reload_disco_registration_clear (DiscoReloadDiscoRegistration *reg);
GBytes *disco_reload_disco_registration_encode (const DiscoReloadDiscoRegistration *reg,
                                                GError **error);
gboolean disco_reload_disco_registration_decode (const guint8 *data, gsize len,
                                                 gboolean with_name_ext,
                                                 DiscoReloadDiscoRegistration *out, GError **error);

G_END_DECLS
