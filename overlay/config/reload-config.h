/* reload-config.h: the RELOAD overlay configuration document (RFC 6940 §11.1).
 *
 * Parses the XML document (namespaces config-base, config-chord, RFC 8076's
 * config-base:share and RFC 7904's config-base:sip) into a plain struct, and
 * serializes a struct back into a document (for ConfigUpdate and for the
 * enrollment server, which serves the document over HTTPS).
 *
 * Errors carry the line number of the offending element.  Documents larger
 * than DISCO_RELOAD_CONFIG_MAX_BYTES, with more than DISCO_RELOAD_CONFIG_MAX_KINDS
 * kinds, or containing a DTD are refused before they can cost anything.
 *
 * Ownership: DiscoReloadConfig is reference counted (disco_reload_config_ref /
 * _unref) and owns every string, array and GBytes in it.  Treat a parsed
 * config as immutable once it is shared; build a new one for updates.
 */
#pragma once

#include <glib.h>

#include "reload-wire.h" /* Kind-ID constants, DiscoReloadDataModel */

G_BEGIN_DECLS

#define DISCO_RELOAD_CONFIG_ERROR (disco_reload_config_error_quark ())
GQuark disco_reload_config_error_quark (void);

typedef enum
{
  DISCO_RELOAD_CONFIG_ERROR_XML,         /* not well-formed XML (message has the line) */
  DISCO_RELOAD_CONFIG_ERROR_TOO_LARGE,   /* size or element-count limit exceeded */
  DISCO_RELOAD_CONFIG_ERROR_INVALID,     /* well-formed but violates RFC 6940 §11.1 */
  DISCO_RELOAD_CONFIG_ERROR_UNSUPPORTED, /* mandatory-extension or plugin we do not implement */
  DISCO_RELOAD_CONFIG_ERROR_IO,
} DiscoReloadConfigError;

#define DISCO_RELOAD_CONFIG_MAX_BYTES (1024 * 1024)
#define DISCO_RELOAD_CONFIG_MAX_KINDS 1024
#define DISCO_RELOAD_CONFIG_MAX_LIST 4096 /* bootstrap nodes, certs, signers ... each */

#define DISCO_RELOAD_NS_BASE "urn:ietf:params:xml:ns:p2p:config-base"
#define DISCO_RELOAD_NS_CHORD "urn:ietf:params:xml:ns:p2p:config-chord"
#define DISCO_RELOAD_NS_SHARE "urn:ietf:params:xml:ns:p2p:config-base:share"
#define DISCO_RELOAD_NS_SIP "urn:ietf:params:xml:ns:p2p:config-base:sip"
/* DisCo's own elements inside <configuration>:
 *   <disco:plaintext-test-links>true</disco:plaintext-test-links>
 *     TEST ONLY: the overlay permits links without TLS (so tshark can read
 *     the frames).  A node still needs its own explicit request
 *     (DiscoReloadLinkSettings.allow_plaintext, `--plaintext-test-links`);
 *     either one alone is refused.  Never put this in a real overlay's
 *     document: plaintext links carry no Node-ID check. */
#define DISCO_RELOAD_NS_DISCO "urn:x-disco:params:xml:ns:p2p:config-disco"

/* IANA Kind-IDs are DISCO_RELOAD_KIND_* in reload-wire.h.  Private-use Kind-ID of
 * DISCO-REGISTRATION (0xF0000D15), see disco.md §3.1. */
#define DISCO_RELOAD_KIND_DISCO_REGISTRATION 4026535189u

typedef enum
{
  DISCO_RELOAD_ACCESS_UNKNOWN = 0, /* a policy we do not implement: every store is forbidden */
  DISCO_RELOAD_ACCESS_USER_MATCH,
  DISCO_RELOAD_ACCESS_NODE_MATCH,
  DISCO_RELOAD_ACCESS_USER_NODE_MATCH,
  DISCO_RELOAD_ACCESS_NODE_MULTIPLE,
  DISCO_RELOAD_ACCESS_USER_CHAIN_ACL,
  DISCO_RELOAD_ACCESS_NODE_ID_MATCH, /* RFC 7374; parsed, not enforced by storage */
} DiscoReloadAccessPolicy;

typedef enum
{
  DISCO_RELOAD_DIGEST_SHA1 = 1,
  DISCO_RELOAD_DIGEST_SHA256 = 2,
} DiscoReloadDigest;

typedef struct
{
  guint32 id;
  char *name; /* IANA name when the block used name=, else NULL */
  DiscoReloadDataModel data_model;
  DiscoReloadAccessPolicy access; /* DISCO_RELOAD_ACCESS_UNKNOWN: see access_name */
  char *access_name;              /* the policy string as written */
  guint32 max_count;
  guint32 max_size;
  guint32 max_node_multiple; /* NODE-MULTIPLE only, else 0 */
  /* RFC 8076 §5 variable resource names */
  gboolean variable_names; /* <share:variable-resource-names enable="true"> */
  char **patterns;         /* NULL-terminated, may be empty; POSIX ERE with $USER/$DOMAIN */
  /* RFC 7904 §4 domain restriction (SIP-REGISTRATION) */
  gboolean has_domain_restriction; /* element present */
  gboolean domain_restriction_enabled;
  char **domain_patterns; /* NULL-terminated, may be empty */
  char *kind_signature;   /* base64 text of <kind-signature>, or NULL */
  GBytes *kind_xml;       /* exact bytes "<kind" .. "</kind>" as signed, or NULL when built */
  guint line;             /* line of <kind> in the source, 0 when built */
} DiscoReloadKindConfig;

typedef struct
{
  char *address; /* numeric IPv4/IPv6 literal as written */
  guint16 port;  /* default 6084 */
} DiscoReloadBootstrapNode;

typedef struct
{
  gint ref_count;

  char *instance_name;
  guint32 overlay_hash; /* disco_reload_overlay_hash (instance_name) */
  guint16 sequence;
  char *expiration; /* RFC 3339 text or NULL */

  char *topology_plugin;                /* default "CHORD-RELOAD" */
  guint node_id_length;                 /* always 16: other values are refused */
  guint initial_ttl;                    /* default 100 */
  guint32 max_message_size;             /* default 5000 */
  guint overlay_reliability_timer;      /* ms, default 3000 */
  guint turn_density;                   /* default 1 */
  gboolean clients_permitted;           /* default TRUE */
  gboolean no_ice;                      /* default FALSE */
  gboolean self_signed_permitted;       /* default FALSE */
  DiscoReloadDigest self_signed_digest; /* default SHA-1 per the RFC schema */
  char *shared_secret;                  /* or NULL */

  guint chord_update_interval; /* s, default 600 */
  guint chord_ping_interval;   /* s, default 3600 */
  gboolean chord_reactive;     /* default TRUE */

  gboolean plaintext_test_links; /* <disco:plaintext-test-links>, default FALSE */

  GPtrArray *bootstrap_nodes;       /* DiscoReloadBootstrapNode* */
  GPtrArray *enrollment_servers;    /* char* URLs */
  GPtrArray *root_certs;            /* GBytes* DER */
  GPtrArray *link_protocols;        /* char*; "TLS" when none given */
  GPtrArray *configuration_signers; /* char* lower-case hex Node-IDs */
  GPtrArray *kind_signers;          /* char* */
  GPtrArray *bad_nodes;             /* char* */
  GPtrArray *mandatory_extensions;  /* char* namespace URIs */
  GPtrArray *kinds;                 /* DiscoReloadKindConfig* */

  char *signature;           /* base64 <signature> after <configuration>, or NULL */
  GBytes *configuration_xml; /* exact bytes "<configuration" .. "</configuration>", or NULL */
  GPtrArray *root_xmlns;     /* private: the source root's xmlns declarations, as
                              * prefix ("" = default), href pairs; the verbatim
                              * configuration bytes may depend on them */
} DiscoReloadConfig;

/* An empty configuration with RFC defaults; instance_name must be set (use
 * disco_reload_config_set_instance_name so the hash follows). */
DiscoReloadConfig *disco_reload_config_new (void);
DiscoReloadConfig *disco_reload_config_ref (DiscoReloadConfig *config);
void disco_reload_config_unref (DiscoReloadConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoReloadConfig, disco_reload_config_unref)

void disco_reload_config_set_instance_name (DiscoReloadConfig *config, const char *name);

/* Parses a document.  @instance_name selects which <configuration> of the
 * <overlay> to use (NULL: the first).  A bare <configuration> root is also
 * accepted.  @origin names the data in error messages ("overlay.xml"). */
DiscoReloadConfig *disco_reload_config_parse (const char *data, gsize len,
                                              const char *instance_name, const char *origin,
                                              GError **error);
DiscoReloadConfig *disco_reload_config_load_file (const char *path, const char *instance_name,
                                                  GError **error);

/* The embedded default document for overlay "disco.example.org" (self-signed
 * permitted, no-ice, CHORD-RELOAD, the SIP, certificate, ACL and
 * DISCO-REGISTRATION kinds).  Static string, do not free. */
const char *disco_reload_config_default_xml (void);
/* Parsed form of the above; never fails. */
DiscoReloadConfig *disco_reload_config_new_default (void);

/* Serializes @config as a complete <overlay> document (UTF-8, newly
 * allocated).  The output parses back to an equal config.  Signatures are
 * written back verbatim when present. */
char *disco_reload_config_to_xml (const DiscoReloadConfig *config, gsize *len_out);

/* One <kind-block> as carried by ConfigUpdate (KindDescription, reload.md
 * §4: UTF-8 XML, default namespace config-base, at most 65535 bytes).
 * The result's kind_xml holds the exact "<kind" .. "</kind>" bytes for
 * kind-signature checks. */
DiscoReloadKindConfig *disco_reload_kind_config_parse (const char *data, gsize len,
                                                       const char *origin, GError **error);
/* The stand-alone <kind-block> (namespaces declared on it); newly allocated. */
char *disco_reload_kind_config_to_xml (const DiscoReloadKindConfig *kind, gsize *len_out);
void disco_reload_kind_config_free (DiscoReloadKindConfig *kind);
/* Adds @kind (ownership taken), replacing a kind with the same id.  Only on
 * a config nobody else holds (build a new one for a running node). */
void disco_reload_config_add_kind (DiscoReloadConfig *config, DiscoReloadKindConfig *kind);

/* Lookup by Kind-ID; NULL when the overlay does not define it. */
const DiscoReloadKindConfig *disco_reload_config_find_kind (const DiscoReloadConfig *config,
                                                            guint32 kind_id);

const char *disco_reload_access_policy_to_string (DiscoReloadAccessPolicy policy);
const char *disco_reload_data_model_to_string (DiscoReloadDataModel model);

/* Kind-ID for an IANA kind name ("SIP-REGISTRATION"), 0 when unknown. */
guint32 disco_reload_kind_id_from_name (const char *name);
const char *disco_reload_kind_name_from_id (guint32 id);

G_END_DECLS
